# syntax=docker/dockerfile:1
# The MarketStream gateway image.
#   docker build -t marketstream/gateway:<tag> .
# Build stage: the same publish command CI runs (eng/publish.sh). Runtime stage: the ASP.NET Core
# runtime image, as the non-root user "app" (UID 1654), listening on 8080.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Only what the build reads (see .dockerignore); the NuGet cache survives between builds with BuildKit.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/ src/
COPY eng/publish.sh eng/publish.sh
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    bash eng/publish.sh /app

# Chiseled (distroless) runtime: no shell, no package manager, only what .NET needs. The gateway needs nothing
# else: invariant globalization (no ICU), and librdkafka's centos8 build, which Confluent.Kafka loads when the
# default one's libsasl2 is missing (as it is here), links only glibc. The pod's preStop is a sleep action and
# its probes are HTTP, so nothing calls a shell.
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled AS runtime
WORKDIR /app
COPY --from=build /app ./
# Kestrel on 8080, all interfaces (k8s: container port "http"). Also the image default; set explicitly
# because the manifests and tests rely on it.
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_NOLOGO=1
EXPOSE 8080
# "app", UID 1654 in the official images. The numeric form lets Kubernetes verify runAsNonRoot.
USER $APP_UID
ENTRYPOINT ["dotnet", "Feed.Gateway.dll"]
