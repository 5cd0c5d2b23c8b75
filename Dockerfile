# syntax=docker/dockerfile:1
# wahost: a static binary on a distroless base. Build with
#   docker build -t wahost .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/wahost ./cmd/wahost

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/wahost /usr/local/bin/wahost
# The SQLite database, the API key, the compiled-policy cache and the
# instances' files live here; mount a volume to keep them.
VOLUME /data
ENV WAHOST_DATA_DIR=/data WAHOST_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
USER nonroot
ENTRYPOINT ["/usr/local/bin/wahost", "serve"]
