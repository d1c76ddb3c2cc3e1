# governd (and vcli, for the HEALTHCHECK and operators' `docker exec`) in a
# small Debian image.  docs/operations.md#container explains the choices.
#
#   docker build -t governd .
#   docker run -v governd-data:/var/lib/governd -v $PWD/tls:/etc/governd/tls:ro \
#              -p 50051:50051 governd
#
# The runtime package list must name the package of every shared library
# governd and vcli link against, and of libcurl, which vcli k8s (and gov
# approve --execute) loads with dlopen(): the deploy_files test compares it
# with ldd of the binaries built here and the names kclient.c dlopen()s.

# ---- build: the -dev packages, a release build of governd and vcli ----
FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libnghttp2-dev libuv1-dev libssl-dev zlib1g-dev \
      libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev \
      libsqlite3-dev libjansson-dev \
      libyaml-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVCLI_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" --target governd vcli \
 && strip /build/bin/governd /build/bin/vcli

# ---- runtime: only the shared libraries, a non-root user, a volume ----
# (libcurl4: vcli k8s and vcli gov approve --execute load it with dlopen()
# on first use; docs/k8s.md.)
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libnghttp2-14 libuv1 libssl3 zlib1g libprotobuf-c1 libsqlite3-0 \
      libcurl4 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 governd \
 && useradd --system --uid 10001 --gid governd --home-dir /var/lib/governd \
      --no-create-home --shell /usr/sbin/nologin governd \
 && mkdir -p /var/lib/governd /etc/governd/tls \
 && chown governd:governd /var/lib/governd
COPY --from=build /build/bin/governd /build/bin/vcli /usr/local/bin/
COPY deploy/governd.conf /etc/governd/governd.conf
USER 10001:10001
VOLUME ["/var/lib/governd"]
EXPOSE 50051 9464
# vcli health over the same TLS the clients use (VCLI_TLS_CA: the CA that
# signed governd's certificate, whose names must include "governd").
ENV VCLI_GOVERNANCE_ENDPOINT=127.0.0.1:50051 \
    VCLI_TLS_CA=/etc/governd/tls/ca.crt \
    VCLI_TLS_SERVER_NAME=governd
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["vcli", "health", "--standard", "--timeout", "3s"]
ENTRYPOINT ["governd"]
CMD ["--config", "/etc/governd/governd.conf"]
