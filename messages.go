package smartonboard

// The constructors below write, once, the client message of each failure that
// both storage engines and the services report: callers pass the facts (what,
// which, the versions they saw), so an engine can never word a failure its own
// way. The conformance suite holds both engines to these code, message and
// field triples.

// NotFound reports that the thing with the given id does not exist; id is ""
// when the reporter cannot tell which one is missing (a violated reference).
func NotFound(thing, id string) *Error {
	if id == "" {
		return Errorf(ENOTFOUND, "%s not found", thing)
	}
	return Errorf(ENOTFOUND, "%s %q not found", thing, id)
}

// UserNotFound reports an end user the project has never seen.
func UserNotFound(userID string) *Error { return NotFound("user", userID) }

// FlowNotFound reports a flow key the project does not have.
func FlowNotFound(key string) *Error { return NotFound("flow", key) }

// ContentItemNotFound reports a content item id the project does not have.
func ContentItemNotFound(id string) *Error { return NotFound("content item", id) }

// InterventionNotFound reports an intervention that does not exist, is another
// user's, or was held out (nothing was sent, so there is nothing to answer).
func InterventionNotFound(id string) *Error { return NotFound("intervention", id) }

// AlertNotFound reports an alert that does not exist in the project.
func AlertNotFound(id string) *Error { return NotFound("alert", id) }

// AlertMoved reports an alert action on an alert whose status changed since
// it was read (another admin, or the condition cleared).
func AlertMoved(id string, now AlertStatus) *Error {
	return FieldErrorf(ECONFLICT, "status", "alert %s is %s now: read it again", id, now)
}

// AlertTransition reports an action the alert's status does not allow.
func AlertTransition(id string, from AlertStatus, action string) *Error {
	return FieldErrorf(ECONFLICT, "status", "alert %s is %s: it cannot be %s", id, from, action)
}

// ConsumerNotStarted is a durable consumer whose cursor was never created.
func ConsumerNotStarted(name string) *Error {
	return Errorf(EINTERNAL, "pipeline consumer %q has no cursor; StartConsumer must run first", name)
}

// ProjectNotFound reports a project that does not exist, which a write met as
// a violated reference.
func ProjectNotFound(id string) *Error { return NotFound("project", id) }

// VersionNotFound reports a flow version that was never published; the flow is
// the one the client named, so the message does not repeat its internal id.
func VersionNotFound(version int) *Error {
	return Errorf(ENOTFOUND, "flow version %d not found", version)
}

// JourneyNotFound reports a user who has no journey in the flow.
func JourneyNotFound(userID, flowKey string) *Error {
	return Errorf(ENOTFOUND, "user %q has no journey in flow %q", userID, flowKey)
}

// Exists reports a create whose unique field already holds value; value is ""
// when the reporter cannot tell it.
func Exists(thing, field, value string) *Error {
	if value == "" {
		return FieldErrorf(ECONFLICT, field, "%s already exists", thing)
	}
	return FieldErrorf(ECONFLICT, field, "%s %q already exists", thing, value)
}

// Stale reports an edit made from an outdated read of thing, naming the
// counter the client sent in field, so that it reads again before retrying.
func Stale(thing, field string, current, sent int) *Error {
	return FieldErrorf(ECONFLICT, field, "the %s is at %s %d, not %d: read it again and retry", thing, field, current, sent)
}

// PublishRace reports a publish that lost to a concurrent one: the flow is
// already at published, so version is not the next one.
func PublishRace(published, version int) *Error {
	return FieldErrorf(ECONFLICT, "version", "the flow is at version %d, so the next is %d, not %d: read it again and retry",
		published, published+1, version)
}

// ContentInUseError answers a delete of an item that a published flow version
// uses; stores return it too when their foreign key catches a delete that raced
// a publish.
func ContentInUseError(id string) error {
	return Errorf(ECONFLICT, "content item %q is used by a published flow version; archive it instead", id)
}

// ContentGoneError answers a publish whose content item was deleted after the
// flow was checked: the store's foreign key refused the version.
func ContentGoneError() error {
	return FieldErrorf(EINVALID, "steps", "a content item the steps use was deleted while publishing; fix the steps and publish again")
}
