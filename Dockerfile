# Smart Onboarding: one static binary on a minimal base image.
#   docker build -t smartonboard --build-arg VERSION=$(git describe --tags --always) .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildTime=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
      -o /out/smartonboard ./cmd/smartonboard \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/smartonboard /usr/local/bin/smartonboard
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV SMARTONBOARD_DATA_DIR=/data SMARTONBOARD_ADDR=:8080
VOLUME /data
EXPOSE 8080
USER nonroot
ENTRYPOINT ["smartonboard"]
CMD ["serve"]
