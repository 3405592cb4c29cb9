package httpapi

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	so "github.com/smartonboarding/smartonboard"
)

// checkExactNames holds a decoded body's field names to the spelling of the
// struct fields they filled: encoding/json matches names ignoring case, so
// {"NAME": …} would fill "name" unseen. Maps, json.RawMessage and types that
// decode themselves are the client's own and are not looked into.
func checkExactNames(body []byte, dst any) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil // unmarshalStrict has already decoded it; nothing to add
	}
	return exactNames(v, reflect.TypeOf(dst), "")
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func exactNames(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fields := jsonFields(t)
		for name, val := range obj {
			ft, ok := fields[name]
			if !ok {
				return so.FieldErrorf(so.EINVALID, join(path, name), "unknown field %q: field names are case-sensitive, spelled as documented", name)
			}
			if err := exactNames(val, ft, join(path, name)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok || t.Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for i, el := range arr {
			if err := exactNames(el, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// fieldCache keeps each struct type's JSON field names, read once.
var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps a struct's JSON names to their types, as encoding/json sees
// them (tags, "-", embedded structs).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case name == "-" && tag == "-", !f.IsExported() && !f.Anonymous:
			continue
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			for k, v := range jsonFields(f.Type) {
				fields[k] = v
			}
			continue
		case name == "":
			name = f.Name
		}
		fields[name] = f.Type
	}
	fieldCache.Store(t, fields)
	return fields
}
