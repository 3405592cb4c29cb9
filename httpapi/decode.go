package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	so "github.com/smartonboarding/smartonboard"
)

// maxPresize bounds the buffer a request's Content-Length reserves before its
// body arrives, so headers alone cannot make the server allocate the full limit.
const maxPresize = 64 << 10

// readBody reads the whole body up to limit bytes, so that an oversized body is
// always a 413 and never a truncated read or a JSON syntax error.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, so.Errorf(so.ETOOLARGE, "request body is larger than %d bytes", limit)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 { // size it once, but not beyond what a header alone may claim
		buf.Grow(int(min(r.ContentLength, maxPresize)) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	body := buf.Bytes()
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, so.Errorf(so.ETOOLARGE, "request body is larger than %d bytes", limit)
	} else if err != nil {
		return nil, so.Errorf(so.EINVALID, "could not read the request body")
	}
	return body, nil
}

// checkContentType accepts only the listed media types.
func checkContentType(r *http.Request, allowed ...string) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, a := range allowed {
			if strings.EqualFold(mt, a) {
				return nil
			}
		}
	}
	if ct == "" {
		ct = "none"
	}
	return so.Errorf(so.EMEDIATYPE, "Content-Type %s is not supported; send %s", ct, strings.Join(allowed, " or "))
}

// decodeJSON checks the content type and size, then decodes one JSON value into
// dst, rejecting unknown fields, trailing data, repeated field names and text
// that is not UTF-8.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any, mediaTypes ...string) error {
	if len(mediaTypes) == 0 {
		mediaTypes = []string{"application/json"}
	}
	if err := checkContentType(r, mediaTypes...); err != nil {
		return err
	}
	body, err := readBody(w, r, DefaultBodyLimit)
	if err != nil {
		return err
	}
	if err := unmarshalStrict(body, dst); err != nil {
		return err
	}
	if err := checkJSONText(body, anyDepth); err != nil {
		return err
	}
	if err := checkExactNames(body, dst); err != nil {
		return err
	}
	noteChanges(r, body)
	return nil
}

// unmarshalStrict decodes body into dst and explains any problem in client terms.
func unmarshalStrict(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return so.Errorf(so.EINVALID, "request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return so.Errorf(so.EINVALID, "request body holds more than one JSON value")
	}
	return nil
}

// jsonError turns encoding/json's errors into application errors naming the field.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return so.Errorf(so.EINVALID, "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return so.Errorf(so.EINVALID, "malformed JSON: the body ends too early")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return so.Errorf(so.EINVALID, "the body must be a JSON %s, not %s", jsonType(typ.Type.Kind().String()), typ.Value)
		}
		return so.FieldErrorf(so.EINVALID, typ.Field, "must be a JSON %s, not %s", jsonType(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return so.FieldErrorf(so.EINVALID, field, "unknown field %q", field)
	}
	return so.Errorf(so.EINVALID, "invalid JSON value: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonType names a Go kind the way a JSON client thinks of it.
func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	}
	return fmt.Sprintf("value of kind %s", kind)
}
