package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Search attributes shown as columns in the Temporal UI's workflow list. They carry state,
// never customer data (search attributes are not encrypted).
var (
	StateKey        = temporal.NewSearchAttributeKeyKeyword("DeskcrmState")
	ModeKey         = temporal.NewSearchAttributeKeyKeyword("DeskcrmMode")
	LastSyncKey     = temporal.NewSearchAttributeKeyTime("DeskcrmLastSync")
	OpenFailuresKey = temporal.NewSearchAttributeKeyInt64("DeskcrmOpenFailures")
)

// SearchAttributes lists the custom search attributes and their types, for registration.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		StateKey.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		ModeKey.GetName():         enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		LastSyncKey.GetName():     enumspb.INDEXED_VALUE_TYPE_DATETIME,
		OpenFailuresKey.GetName(): enumspb.INDEXED_VALUE_TYPE_INT,
	}
}

// SearchAttributeDeclarations lists the custom search attributes as a typed set, the form the
// SDK's dev-server launcher takes to register them when the server starts.
func SearchAttributeDeclarations() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(StateKey.ValueSet(""), ModeKey.ValueSet(""),
		LastSyncKey.ValueSet(time.Time{}), OpenFailuresKey.ValueSet(0))
}
