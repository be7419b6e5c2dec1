package objective

import "errors"

// ErrInvalid is wrapped by every error this package returns for a bad
// configuration or inconsistent input shapes.
var ErrInvalid = errors.New("objective: invalid input")
