// Package predict is success prediction: it turns a journey's events up to a
// cut-off into features (never reading a later event), labels settled
// journeys, trains a regularized logistic regression on standardized
// features with a time-based split and Platt calibration, scores and
// explains one journey, and measures a model (AUC, log loss, Brier score,
// expected calibration error, population stability). It is logic over
// values: the engines load the histories, the server keeps the registry.
package predict
