package crm

import "time"

// defaultTimeout bounds one HTTP exchange when Config.HTTPClient is not set.
const defaultTimeout = 60 * time.Second
