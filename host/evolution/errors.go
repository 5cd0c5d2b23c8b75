package evolution

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
)

// Error is an answer in Evolution API's error shape:
//
//	{"status": 400, "error": "Bad Request", "response": {"message": [...]}}
//
// Message is what Evolution puts in response.message: a list for most
// errors (a list of lists for a failed schema check), the string
// "Unauthorized" for a missing or wrong key.
type Error struct {
	Status  int
	Message any
}

func (e *Error) Error() string {
	b, _ := json.Marshal(e.Message)
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), b)
}

// errorBody is Error on the wire (Evolution's src/main.ts error handler).
type errorBody struct {
	Status   int    `json:"status"`
	Error    string `json:"error"`
	Response struct {
		Message any `json:"message"`
	} `json:"response"`
}

func writeError(w http.ResponseWriter, e *Error) {
	b := errorBody{Status: e.Status, Error: http.StatusText(e.Status)}
	b.Response.Message = e.Message
	writeJSON(w, e.Status, b)
}

// badRequest is Evolution's BadRequestException(messages...).
func badRequest(messages ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Message: messages}
}

// invalid is a failed schema check: Evolution throws
// BadRequestException(messages), so response.message is a list holding
// the list of messages.
func invalid(messages ...string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: []any{messages}}
}

func notFound(messages ...any) *Error {
	return &Error{Status: http.StatusNotFound, Message: messages}
}

func forbidden(messages ...any) *Error {
	return &Error{Status: http.StatusForbidden, Message: messages}
}

// unauthorized is Evolution's UnauthorizedException(): the message is the
// string "Unauthorized", not a list.
func unauthorized() *Error {
	return &Error{Status: http.StatusUnauthorized, Message: "Unauthorized"}
}

func noInstance(name string) *Error {
	return notFound(fmt.Sprintf("The %q instance does not exist", name))
}

// asError turns any error into the answer it gets: an *Error as it is,
// anything else as Evolution's 500.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Message: []any{fmt.Sprintf("request body larger than %d bytes", mbe.Limit)}}
	}
	return &Error{Status: http.StatusInternalServerError, Message: []any{err.Error()}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decode reads a JSON body leniently, as Evolution does: unknown fields
// are ignored; an empty body is an empty object.
func decode(r *http.Request, v any) error {
	err := json.NewDecoder(r.Body).Decode(v)
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return err
	case err.Error() == "EOF":
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return invalid(fmt.Sprintf("%s is not of a type(s) %s", te.Field, jsType(te.Type)))
	}
	return badRequest("malformed JSON body: " + err.Error())
}

// jsType names a Go type as the JSON schema type Evolution's check
// reports ("is not of a type(s) boolean").
func jsType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return t.String()
}
