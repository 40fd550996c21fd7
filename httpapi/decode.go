package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"

	"github.com/steeple-sms/steeple"
)

// maxBody bounds a JSON request body.
const maxBody = 1 << 20

// decode reads a JSON body into v strictly: one object, no unknown fields,
// at most maxBody bytes. Every failure is EINVALID with a clear message.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	var own *steeple.Error // a field's own UnmarshalJSON names the field
	switch {
	case err == nil:
		if dec.More() {
			return steeple.Errorf(steeple.EINVALID, "request body must hold a single JSON object")
		}
		if _, err := dec.Token(); err != io.EOF {
			return steeple.Errorf(steeple.EINVALID, "request body must hold a single JSON object")
		}
		return nil
	case errors.Is(err, io.EOF):
		return steeple.Errorf(steeple.EINVALID, "request body is empty; expected a JSON object")
	case errors.As(err, &own):
		return own
	case errors.As(err, &tooBig):
		return steeple.Errorf(steeple.EINVALID, "request body is larger than %d bytes", maxBody)
	case errors.As(err, &syntax):
		return steeple.Errorf(steeple.EINVALID, "malformed JSON at byte %d", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return steeple.Errorf(steeple.EINVALID, "malformed JSON: body ends early")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return steeple.Errorf(steeple.EINVALID, "request body must be a JSON object")
		}
		want := "must be " + jsonKind(typeErr.Type)
		return &steeple.Error{Code: steeple.EINVALID, Message: typeErr.Field + " " + want, Fields: map[string]string{typeErr.Field: want}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &steeple.Error{Code: steeple.EINVALID, Message: fmt.Sprintf("unknown field %q", field),
			Fields: map[string]string{field: "is not a known field"}}
	}
	return steeple.Errorf(steeple.EINVALID, "malformed JSON: %v", err)
}

// jsonKind names a Go type as the JSON a client should send.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "an object"
}

// clientGroup is the address a per-client bound counts against: the IPv4
// address, or the /64 network of an IPv6 one (one subscriber usually holds
// a whole /64, so counting single IPv6 addresses would bound nothing).
func clientGroup(r *http.Request) string {
	ip := net.ParseIP(clientIP(r))
	if ip == nil || ip.To4() != nil {
		return clientIP(r)
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// clientIP is the address the request came from. (Behind a proxy this is
// the proxy; trusting forwarded headers is a deployment choice not made here.)
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
