package stream

import (
	"strconv"
	"strings"
)

// UserTopic names one end user's stream; the project ID is length-prefixed so
// IDs containing ':' cannot make two users share a topic.
func UserTopic(projectID, userID string) string {
	return "user:" + strconv.Itoa(len(projectID)) + ":" + projectID + ":" + userID
}

// ProjectTopic names a project's admin metrics stream; its prefix keeps it apart
// from every user topic.
func ProjectTopic(projectID string) string {
	return "project:" + projectID
}

// projectOf names the project of a topic, whose ID sequence and stream limits
// it shares; topics not named by UserTopic or ProjectTopic share "".
func projectOf(topic string) string {
	if id, ok := strings.CutPrefix(topic, "project:"); ok {
		return id
	}
	rest, ok := strings.CutPrefix(topic, "user:")
	if !ok {
		return ""
	}
	n, rest, ok := strings.Cut(rest, ":")
	size, err := strconv.Atoi(n)
	if !ok || err != nil || size < 0 || size >= len(rest) || rest[size] != ':' {
		return ""
	}
	return rest[:size]
}

// isUserTopic tells a user's topic, which MaxPerTopic limits: anyone with the
// public key may open one, while admin topics need the secret key.
func isUserTopic(topic string) bool { return strings.HasPrefix(topic, "user:") }
