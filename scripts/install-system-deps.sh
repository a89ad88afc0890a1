#!/usr/bin/env bash
# Debian packages the test suite needs: Chromium (the HTML report is checked in a real browser), the OCI
# tool chain (podman/buildah/skopeo/runc, the CNCF registry, mmdebstrap for the base image, nginx as the load
# balancer), the PostgreSQL server (SQL sources and the MLflow store on PostgreSQL; scripts/postgres.sh starts
# a throwaway one), Prometheus (its promtool checks mlgate monitor's textfile and ci/monitoring/alerts.yml) and
# a Java runtime for the Spark engine (PySpark 4 needs Java 17 or newer; scripts/spark-cluster.sh starts a
# standalone master and workers from PySpark's own jars) with the PostgreSQL JDBC driver (libpostgresql-jdbc-java:
# /usr/share/java/postgresql.jar, which the Spark engine puts on its classpath to read an SQL source).
# Installs only what is missing; needs root (as on CI). Idempotent.
set -euo pipefail
packages=(chromium podman buildah skopeo runc conmon containernetworking-plugins docker-registry mmdebstrap
          uidmap nginx fuse-overlayfs postgresql prometheus openjdk-17-jre-headless
          libpostgresql-jdbc-java)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
