// Drives the CRM emulator with Zoho's official CRM Node SDK
// (@zohocrm/nodejs-sdk-8.0) and prints, as one JSON object on stdout, what
// the SDK saw at each step. sdk_test.go starts the emulator, runs this
// script and asserts on the report; the script itself only stops early when
// the SDK throws (then it prints the report so far with "error" set and
// exits 1).
//
// Usage: node sdk_conformance.mjs <emulator base URL> <scratch dir>
import * as Z from "@zohocrm/nodejs-sdk-8.0";
import path from "node:path";

const [base, scratch] = process.argv.slice(2);
if (!base || !scratch) {
  console.error("usage: node sdk_conformance.mjs <base URL> <scratch dir>");
  process.exit(2);
}

const report = { steps: [] };
let step = "init";

// kindOf names the SDK model class of a response object, with its package
// ("Record.APIException", "Fields.ResponseWrapper", ...).
function kindOf(obj, pkg) {
  if (obj == null) return null;
  for (const name of ["ResponseWrapper", "ActionWrapper", "APIException", "SuccessResponse"]) {
    if (pkg[name] && obj instanceof pkg[name]) return name;
  }
  return obj.constructor ? obj.constructor.name : typeof obj;
}

function choice(c) {
  return c == null ? null : c.getValue();
}

function mapToObject(m) {
  if (m == null) return null;
  const out = {};
  for (const [k, v] of m) {
    out[k] = v instanceof Map ? mapToObject(v) : v;
  }
  return out;
}

// action summarises one element of an ActionWrapper: a SuccessResponse or a
// per-record APIException.
function action(a) {
  return {
    kind: kindOf(a, Z.Record),
    status: choice(a.getStatus()),
    code: choice(a.getCode()),
    message: choice(a.getMessage()),
    details: mapToObject(a.getDetails()),
  };
}

// apiException summarises a whole-call APIException.
function apiException(e) {
  return {
    kind: "APIException",
    status: choice(e.getStatus()),
    code: choice(e.getCode()),
    message: choice(e.getMessage()),
    details: mapToObject(e.getDetails()),
  };
}

function value(v) {
  if (v == null) return null;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Z.Record.Record) return { id: String(v.getId()) };
  if (v instanceof Z.Choice) return v.getValue();
  if (Array.isArray(v)) return v.map(value);
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "object" && typeof v.getId === "function") return { id: String(v.getId()) };
  return v;
}

function recordSummary(r, names) {
  const out = { id: String(r.getId()) };
  for (const n of names) out[n] = value(r.getKeyValue(n));
  return out;
}

async function run() {
  const env = new Z.Environment(base, base + "/oauth/v2/token", base);
  const token = new Z.OAuthBuilder()
    .clientId("deskcrm-dev")
    .clientSecret("deskcrm-dev-secret")
    .refreshToken("deskcrm-dev-refresh")
    .build();
  const store = new Z.FileStore(path.join(scratch, "tokens.txt"));
  const logger = new Z.LogBuilder().level(Z.Levels.INFO).filePath(path.join(scratch, "sdk.log")).build();
  const cfg = new Z.SDKConfigBuilder().pickListValidation(false).autoRefreshFields(false).build();
  await (await new Z.InitializeBuilder())
    .environment(env)
    .token(token)
    .store(store)
    .SDKConfig(cfg)
    .resourcePath(scratch)
    .logger(logger)
    .initialize();
  report.steps.push("init");

  // Field metadata.
  step = "fields";
  {
    const params = new Z.ParameterMap();
    await params.add(Z.Fields.GetFieldsParam.MODULE, "Contacts");
    const resp = await new Z.Fields.FieldsOperations().getFields(params);
    const obj = resp.getObject();
    const out = { status: resp.getStatusCode(), kind: kindOf(obj, Z.Fields), fields: [] };
    if (obj instanceof Z.Fields.ResponseWrapper) {
      for (const f of obj.getFields()) {
        if (f == null) {
          out.fields.push(null);
          continue;
        }
        const lookup = f.getLookup();
        const unique = f.getUnique();
        out.fields.push({
          api_name: f.getAPIName(),
          data_type: f.getDataType(),
          length: f.getLength(),
          lookup_module: lookup && lookup.getModule() ? lookup.getModule().getAPIName() : null,
          unique: unique && unique.getCasesensitive() != null ? unique.getCasesensitive() : null,
        });
      }
    }
    report.fields = out;
  }
  report.steps.push("fields");

  const ops = new Z.Record.RecordOperations("Contacts");

  // Create: one good record, one without the mandatory Last_Name.
  step = "create";
  let createdID = null;
  {
    const good = new Z.Record.Record();
    good.addFieldValue(Z.Record.Field.Contacts.LAST_NAME, "Conformance");
    good.addFieldValue(Z.Record.Field.Contacts.FIRST_NAME, "Zoë");
    good.addFieldValue(Z.Record.Field.Contacts.EMAIL, "sdk.conformance@example.com");
    good.addFieldValue(Z.Record.Field.Contacts.EMAIL_OPT_OUT, true);
    good.addFieldValue(Z.Record.Field.Contacts.DATE_OF_BIRTH, new Date(Date.UTC(1990, 4, 17)));
    good.addKeyValue("Seats", 12);
    good.addKeyValue("Renewal_Date", new Date(Date.UTC(2026, 0, 2)));
    const bad = new Z.Record.Record();
    bad.addFieldValue(Z.Record.Field.Contacts.FIRST_NAME, "No Last Name");
    const body = new Z.Record.BodyWrapper();
    body.setData([good, bad]);
    const resp = await ops.createRecords(body, new Z.HeaderMap());
    const obj = resp.getObject();
    const out = { status: resp.getStatusCode(), kind: kindOf(obj, Z.Record), data: [] };
    if (obj instanceof Z.Record.ActionWrapper) {
      out.data = obj.getData().map(action);
      const ok = out.data.find((a) => a.kind === "SuccessResponse");
      if (ok && ok.details) createdID = String(ok.details.id);
    }
    report.create = out;
  }
  report.steps.push("create");
  if (createdID == null) throw new Error("create returned no record id");

  // Get by id: the values as the SDK types them.
  step = "get";
  {
    const resp = await ops.getRecord(BigInt(createdID), new Z.ParameterMap(), new Z.HeaderMap());
    const obj = resp.getObject();
    const out = { status: resp.getStatusCode(), kind: kindOf(obj, Z.Record), data: [] };
    if (obj instanceof Z.Record.ResponseWrapper) {
      out.data = obj.getData().map((r) =>
        recordSummary(r, ["Last_Name", "First_Name", "Email", "Email_Opt_Out", "Date_of_Birth", "Seats", "Renewal_Date", "Owner"])
      );
    }
    report.get = out;
  }
  report.steps.push("get");

  // List with fields.
  step = "list";
  {
    const params = new Z.ParameterMap();
    await params.add(Z.Record.GetRecordsParam.FIELDS, "Last_Name,Email");
    await params.add(Z.Record.GetRecordsParam.PER_PAGE, 200);
    const resp = await ops.getRecords(params, new Z.HeaderMap());
    const obj = resp.getObject();
    const out = { status: resp.getStatusCode(), kind: kindOf(obj, Z.Record), ids: [] };
    if (obj instanceof Z.Record.ResponseWrapper) {
      out.ids = obj.getData().map((r) => String(r.getId()));
      const info = obj.getInfo();
      out.info = { count: info.getCount(), more_records: info.getMoreRecords(), per_page: info.getPerPage() };
    }
    report.list = out;
  }
  report.steps.push("list");

  // Update the created record.
  step = "update";
  {
    const r = new Z.Record.Record();
    r.addFieldValue(Z.Record.Field.Contacts.LAST_NAME, "Conformance Updated");
    const body = new Z.Record.BodyWrapper();
    body.setData([r]);
    const resp = await ops.updateRecord(BigInt(createdID), body, new Z.HeaderMap());
    const obj = resp.getObject();
    const out = { status: resp.getStatusCode(), kind: kindOf(obj, Z.Record), data: [] };
    if (obj instanceof Z.Record.ActionWrapper) out.data = obj.getData().map(action);
    report.update = out;
  }
  report.steps.push("update");

  // Search by email.
  step = "search";
  {
    const params = new Z.ParameterMap();
    await params.add(Z.Record.SearchRecordsParam.EMAIL, "sdk.conformance@example.com");
    await params.add(Z.Record.SearchRecordsParam.PER_PAGE, 200);
    const resp = await ops.searchRecords(params, new Z.HeaderMap());
    const obj = resp.getObject();
    const out = { status: resp.getStatusCode(), kind: kindOf(obj, Z.Record), data: [] };
    if (obj instanceof Z.Record.ResponseWrapper) {
      out.data = obj.getData().map((r) => recordSummary(r, ["Last_Name", "Email"]));
    }
    report.search = out;
  }
  report.steps.push("search");

  // A 400: listing without the mandatory fields parameter.
  step = "bad request";
  {
    const resp = await ops.getRecords(new Z.ParameterMap(), new Z.HeaderMap());
    const obj = resp.getObject();
    report.badRequest = { httpStatus: resp.getStatusCode(), ...(obj instanceof Z.Record.APIException ? apiException(obj) : { kind: kindOf(obj, Z.Record) }) };
  }
  report.steps.push("bad request");

  // Delete the created record.
  step = "delete";
  {
    const params = new Z.ParameterMap();
    await params.add(Z.Record.DeleteRecordsParam.IDS, createdID);
    const resp = await ops.deleteRecords(params, new Z.HeaderMap());
    const obj = resp.getObject();
    const out = { status: resp.getStatusCode(), kind: kindOf(obj, Z.Record), data: [] };
    if (obj instanceof Z.Record.ActionWrapper) out.data = obj.getData().map(action);
    report.delete = out;
  }
  report.steps.push("delete");

  // A 401: the emulator expires every access token (admin API); the SDK
  // still holds its token and sends it.
  step = "unauthorized";
  {
    const r = await fetch(base + "/_emulator/tokens/expire", { method: "POST" });
    if (!r.ok) throw new Error("expire tokens: HTTP " + r.status);
    const params = new Z.ParameterMap();
    await params.add(Z.Record.GetRecordsParam.FIELDS, "Last_Name");
    const resp = await ops.getRecords(params, new Z.HeaderMap());
    const obj = resp.getObject();
    report.unauthorized = { httpStatus: resp.getStatusCode(), ...(obj instanceof Z.Record.APIException ? apiException(obj) : { kind: kindOf(obj, Z.Record) }) };
  }
  report.steps.push("unauthorized");
}

try {
  await run();
  process.stdout.write(JSON.stringify(report, (_, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
} catch (err) {
  report.error = `${step}: ${err && err.stack ? err.stack : err}`;
  if (err && err.cause) report.error += `\ncause: ${err.cause.stack || err.cause}`;
  process.stdout.write(JSON.stringify(report, (_, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
  process.exit(1);
}
