package zoho

import (
	"fmt"
	"strings"
)

// DataCenter names a Zoho data centre by its domain suffix ("com", "eu", ...).
type DataCenter string

// The data centres Zoho operates (zoho-api.md A2 and B1).
const (
	DCCom DataCenter = "com"    // United States
	DCEU  DataCenter = "eu"     // Europe
	DCIN  DataCenter = "in"     // India
	DCAU  DataCenter = "com.au" // Australia
	DCJP  DataCenter = "jp"     // Japan
	DCCN  DataCenter = "com.cn" // China
	DCCA  DataCenter = "ca"     // Canada (zohocloud.ca)
	DCSA  DataCenter = "sa"     // Saudi Arabia
)

// DataCenters lists every supported data centre.
var DataCenters = []DataCenter{DCCom, DCEU, DCIN, DCAU, DCJP, DCCN, DCCA, DCSA}

// Endpoints are the base URLs (scheme and host, no trailing slash) of one data centre.
type Endpoints struct {
	// Accounts is the OAuth server, e.g. https://accounts.zoho.com.
	Accounts string
	// CRM is the CRM API domain, e.g. https://www.zohoapis.com.
	CRM string
	// Desk is the Desk API host, e.g. https://desk.zoho.com.
	Desk string
}

// ParseDataCenter accepts a data-centre suffix ("eu"), optionally with a leading
// dot or the aliases "us" and "au", and returns the canonical DataCenter.
func ParseDataCenter(s string) (DataCenter, error) {
	s = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), ".")
	switch s {
	case "", "us":
		return DCCom, nil
	case "au":
		return DCAU, nil
	case "cn":
		return DCCN, nil
	}
	for _, dc := range DataCenters {
		if string(dc) == s {
			return dc, nil
		}
	}
	return "", fmt.Errorf("unknown Zoho data centre %q (want one of com, eu, in, com.au, jp, com.cn, ca, sa)", s)
}

// Endpoints returns the hosts of the data centre. Canada is served from
// zohocloud.ca rather than zoho.ca.
func (dc DataCenter) Endpoints() (Endpoints, error) {
	switch dc {
	case "":
		dc = DCCom
	case DCCA:
		return Endpoints{
			Accounts: "https://accounts.zohocloud.ca",
			CRM:      "https://www.zohoapis.ca",
			Desk:     "https://desk.zohocloud.ca",
		}, nil
	}
	for _, known := range DataCenters {
		if known == dc {
			return Endpoints{
				Accounts: "https://accounts.zoho." + string(dc),
				CRM:      "https://www.zohoapis." + string(dc),
				Desk:     "https://desk.zoho." + string(dc),
			}, nil
		}
	}
	return Endpoints{}, fmt.Errorf("unknown Zoho data centre %q", string(dc))
}

// BaseURL returns override with any trailing slash removed when it is set, and
// def otherwise. Clients use it to let tests and emulators replace a host.
func BaseURL(override, def string) string {
	if override != "" {
		return strings.TrimRight(override, "/")
	}
	return def
}
