package web

// Rebuild the SDK's embedded files from web/sdk/src (esbuild's Go API; no Node.js).
//go:generate go test -run ^TestSDKIsBuilt$ . -args -update
