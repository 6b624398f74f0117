#!/usr/bin/env bash
# Install the real tools the end-to-end tests drive, into a cache keyed by version.
#
#   scripts/install-tools.sh <tool>...
#
# Tools: tofu, zookeeper, kafka, kafka4, kube, tfzk.
# For each tool, in order, prints one line to stdout: the absolute path of what is installed
#   tofu       the tofu binary
#   zookeeper  the ZooKeeper home: <home>/lib/*.jar is the classpath, <home>/conf holds logback.xml
#   kafka      the Kafka 3.x home (ZooKeeper mode and KRaft): <home>/libs/*.jar, as /opt/kafka/libs
#              in the apache/kafka image; <home>/VERSION
#   kafka4     the same for Kafka 4.x (KRaft only)
#   kube       the directory holding kube-apiserver, etcd and kubectl (scripts/install-kube.sh)
#   tfzk       the terraform-provider-zookeeper binary
# Everything else (progress, build output) goes to stderr. Nothing prompts; no TTY is needed.
#
# Idempotent: a finished install is marked by <dir>/.complete and reused as is. Safe to run
# concurrently: each tool's install runs under an flock on <cache>/locks/<tool>-<version>.lock,
# builds into a temporary directory and is renamed into place only when complete.
#
# Environment:
#   ZKKAFKA_CACHE              cache root (default $HOME/.cache/zkkafka)
#   ZKKAFKA_TOFU_VERSION       OpenTofu version (default below)
#   ZKKAFKA_ZOOKEEPER_VERSION  ZooKeeper version (default below)
#   ZKKAFKA_KAFKA_VERSION      Kafka 3.x version (default below)
#   ZKKAFKA_KAFKA4_VERSION     Kafka 4.x version (default below)
#   ZKKAFKA_TFZK_VERSION       tfzk provider version (default below)
#   ZKKAFKA_MAVEN_REPO         Maven local repository to use (default: Maven's own, ~/.m2)
#
# Needs: go (OpenTofu, tfzk), mvn and java (ZooKeeper, Kafka), flock (util-linux).
set -euo pipefail

TOFU_VERSION="${ZKKAFKA_TOFU_VERSION:-1.12.6}"
# 3.9.6 is on Maven Central as a jar, but its parent POM (which holds the dependency versions)
# does not resolve here, so the newest complete 3.9.x is 3.9.5.
ZOOKEEPER_VERSION="${ZKKAFKA_ZOOKEEPER_VERSION:-3.9.5}"
MAVEN_DEPENDENCY_PLUGIN=3.8.1
# The last Kafka line with ZooKeeper mode, and a 4.x (KRaft only) release: both in the version
# table of src/resources/kafka_cluster/version.rs.
KAFKA_VERSION="${ZKKAFKA_KAFKA_VERSION:-3.9.2}"
KAFKA4_VERSION="${ZKKAFKA_KAFKA4_VERSION:-4.1.2}"
TFZK_VERSION="${ZKKAFKA_TFZK_VERSION:-v1.2.1}"

CACHE="${ZKKAFKA_CACHE:-$HOME/.cache/zkkafka}"

log() { printf '[install-tools] %s\n' "$*" >&2; }
die() { printf '[install-tools] ERROR: %s\n' "$*" >&2; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is required to install $2 but is not on PATH"
}

# Go settings shared by the Go builds: no VCS stamping (module sources have none), a
# writable module cache (so it can be cleaned), no prompts from the go command.
go_env() {
  export GOFLAGS="${GOFLAGS:-} -buildvcs=false -modcacherw"
  export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
  export GONOSUMDB="${GONOSUMDB:-}"
  export GIT_TERMINAL_PROMPT=0
  export GOWORK=off
  export CGO_ENABLED=0
}

# Drop the go command's one-line-per-module "go: downloading" chatter; count it instead.
quiet_downloads() {
  awk '/^go: downloading /{n++; next} {print} END{if (n) printf "    (%d modules downloaded)\n", n}'
}

# Maven 3.8 -q still prints colour resets; drop them and the empty lines they leave.
strip_ansi() { sed -e $'s/\x1b\\[[0-9;]*m//g' -e '/^[[:space:]]*$/d'; }

# locked_install <name> <final-dir> <builder-function> [args...]
# Runs <builder-function> <tmp-dir> [args...] under a lock unless <final-dir>/.complete exists;
# the builder fills <tmp-dir>, which then becomes <final-dir>.
locked_install() {
  local name="$1" final="$2" builder="$3"
  shift 3
  if [[ -f "$final/.complete" ]]; then
    log "$name: cached at $final"
    return 0
  fi
  mkdir -p "$CACHE/locks"
  local lock="$CACHE/locks/$name.lock" fd
  exec {fd}>"$lock"
  if ! flock -n "$fd"; then
    log "$name: another install is running; waiting for its lock"
    flock "$fd"
  fi
  if [[ -f "$final/.complete" ]]; then
    log "$name: installed meanwhile by another run, at $final"
    exec {fd}>&-
    return 0
  fi
  # The builder fills $tmp, using $BUILD_WORK as scratch space; both are removed on failure.
  local tmp="$final.tmp.$$"
  BUILD_WORK="$final.work.$$"
  rm -rf "$tmp" "$final" "$BUILD_WORK"
  mkdir -p "$tmp" "$BUILD_WORK"
  local start=$SECONDS
  log "$name: installing (cold) into $final"
  # The builder runs unguarded so that `set -e` stays in force inside it (an `if` would turn
  # it off): a failing step exits the script, and this trap cleans up and says so.
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp' '$BUILD_WORK'; log '$name: install FAILED (see the output above)'" EXIT
  "$builder" "$tmp" "$@"
  trap - EXIT
  rm -rf "$BUILD_WORK"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp/.complete"
  mv "$tmp" "$final"
  log "$name: installed in $((SECONDS - start))s"
  exec {fd}>&-
}

# ---------------------------------------------------------------------------------------------
# OpenTofu, built from its Go module. `go install module/cmd/tofu@version` refuses modules whose
# go.mod has replace directives, so build it from a throwaway wrapper module that requires
# OpenTofu at that version and repeats its replace (and godebug) directives.
build_tofu() {
  local out="$1" ver="v$TOFU_VERSION" work gomod goversion
  need go OpenTofu
  go_env
  work="$BUILD_WORK"
  log "tofu: downloading github.com/opentofu/opentofu@$ver from the Go module proxy"
  gomod="$(cd "$work" && go mod download -json "github.com/opentofu/opentofu@$ver" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "$gomod" && -f "$gomod" ]] || die "tofu: could not read OpenTofu's go.mod at $ver"
  goversion="$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gomod" | head -n1)"
  {
    echo "module zkkafka.invalid/tofu-build"
    echo
    echo "go ${goversion:-1.24}"
    echo
    # godebug settings only apply from the main module: carry OpenTofu's over.
    awk '/^godebug \(/{p=1} p{print} p&&/^\)/{p=0} /^godebug [^(]/{print}' "$gomod"
    echo
    echo "require github.com/opentofu/opentofu $ver"
    echo
    # Single-line and block replace directives, as OpenTofu's go.mod has them.
    awk '/^replace \(/{p=1} p{print} p&&/^\)/{p=0} /^replace [^(]/{print}' "$gomod"
  } >"$work/go.mod"
  log "tofu: wrapper go.mod:"
  sed 's/^/    /' "$work/go.mod" >&2
  log "tofu: resolving dependencies (go get)"
  (cd "$work" && go get "github.com/opentofu/opentofu/cmd/tofu@$ver" 2>&1 | quiet_downloads) >&2
  log "tofu: building (this takes several minutes on a cold cache)"
  (cd "$work" && go build -trimpath \
    -ldflags="-s -w -X github.com/opentofu/opentofu/version.dev=no" \
    -o "$out/tofu" github.com/opentofu/opentofu/cmd/tofu) >&2
  env -u TF_CLI_CONFIG_FILE CHECKPOINT_DISABLE=1 "$out/tofu" version >&2
}

install_tofu() {
  local final="$CACHE/tofu-$TOFU_VERSION"
  locked_install "tofu-$TOFU_VERSION" "$final" build_tofu
  echo "$final/tofu"
}

# ---------------------------------------------------------------------------------------------
# ZooKeeper from its Maven Central artifact with its runtime dependencies, plus what its POM
# marks provided but the server and CLI need at run time (metrics-core for the server's metrics,
# snappy-java, which snapshot naming loads even when uncompressed; commons-cli for the CLI) and
# logback (optional in the POM) as the logging backend.
# (jline is left out on purpose: without it ZooKeeperMain reads commands from stdin.) Versions of the extras come from ZooKeeper's parent POM, imported as a BOM.
build_zookeeper() {
  local out="$1" ver="$ZOOKEEPER_VERSION" work
  need mvn ZooKeeper
  need java ZooKeeper
  work="$BUILD_WORK"
  cat >"$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>zkkafka.bench</groupId>
  <artifactId>zookeeper-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>org.apache.zookeeper</groupId>
        <artifactId>parent</artifactId>
        <version>$ver</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>org.apache.zookeeper</groupId>
      <artifactId>zookeeper</artifactId>
      <version>$ver</version>
    </dependency>
    <dependency>
      <groupId>commons-cli</groupId>
      <artifactId>commons-cli</artifactId>
    </dependency>
    <dependency>
      <groupId>io.dropwizard.metrics</groupId>
      <artifactId>metrics-core</artifactId>
    </dependency>
    <dependency>
      <groupId>org.xerial.snappy</groupId>
      <artifactId>snappy-java</artifactId>
    </dependency>
    <dependency>
      <groupId>ch.qos.logback</groupId>
      <artifactId>logback-classic</artifactId>
    </dependency>
  </dependencies>
</project>
EOF
  log "zookeeper: resolving org.apache.zookeeper:zookeeper:$ver and its runtime dependencies with Maven"
  local repo_args=()
  [[ -z "${ZKKAFKA_MAVEN_REPO:-}" ]] || repo_args=("-Dmaven.repo.local=$ZKKAFKA_MAVEN_REPO")
  (cd "$work" && mvn -B -q -ntp -Dstyle.color=never "${repo_args[@]}" \
    "org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$out/lib" 2>&1 | strip_ansi) >&2 </dev/null
  [[ -f "$out/lib/zookeeper-$ver.jar" ]] || die "zookeeper: zookeeper-$ver.jar was not resolved"
  mkdir -p "$out/conf"
  # Server and CLI logging: WARN and up to stderr unless ZKKAFKA_ZK_LOG_LEVEL says otherwise;
  # the server script points zookeeper.log.file elsewhere when it wants a file.
  cat >"$out/conf/logback.xml" <<'EOF'
<configuration>
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder>
      <pattern>%d{ISO8601} %-5level [%thread] %logger{36} - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="${zkkafka.log.level:-WARN}">
    <appender-ref ref="STDERR"/>
  </root>
</configuration>
EOF
  echo "$ver" >"$out/VERSION"
  # shellcheck disable=SC2012
  ls "$out/lib" | sed 's/^/    /' >&2
}

install_zookeeper() {
  local final="$CACHE/zookeeper-$ZOOKEEPER_VERSION"
  locked_install "zookeeper-$ZOOKEEPER_VERSION" "$final" build_zookeeper
  echo "$final"
}

# ---------------------------------------------------------------------------------------------
# Kafka from its Maven Central artifacts. The distribution's bin/*.sh scripts are not in Maven,
# so the home holds only libs/ (what the apache/kafka image has at /opt/kafka/libs): the broker
# (kafka_2.13: kafka.Kafka, kafka.tools.StorageTool), the Java tools (kafka-tools: the console
# and verifiable producer/consumer, TopicCommand) and their runtime dependencies. The start
# script the provider renders runs these classes with `java -cp "$KAFKA_HOME/libs/*"`, so the
# same script runs in the image and here.
build_kafka() {
  local out="$1" ver="$2" work
  need mvn Kafka
  need java Kafka
  work="$BUILD_WORK"
  cat >"$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>zkkafka.bench</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$ver</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$ver</version>
    </dependency>
  </dependencies>
</project>
EOF
  log "kafka: resolving org.apache.kafka:kafka_2.13:$ver and kafka-tools:$ver with Maven"
  local repo_args=()
  [[ -z "${ZKKAFKA_MAVEN_REPO:-}" ]] || repo_args=("-Dmaven.repo.local=$ZKKAFKA_MAVEN_REPO")
  (cd "$work" && mvn -B -q -ntp -Dstyle.color=never "${repo_args[@]}" \
    "org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$out/libs" 2>&1 | strip_ansi) >&2 </dev/null
  [[ -f "$out/libs/kafka_2.13-$ver.jar" ]] || die "kafka: kafka_2.13-$ver.jar was not resolved"
  # Kafka 4.x logs through log4j 2, whose SLF4J binding the distribution ships but the POMs do
  # not depend on (3.x brings slf4j-reload4j itself). Add the binding at log4j-core's version.
  local log4j
  # (Kafka 3.x has no log4j-core: `ls` then fails, which must not end the script.)
  log4j="$(cd "$out/libs" && { ls log4j-core-*.jar 2>/dev/null || true; } |
    sed -n 's/^log4j-core-\(.*\)\.jar$/\1/p' | head -n1)"
  if [[ -n "$log4j" ]] && ! ls "$out/libs"/log4j-slf4j*-impl-*.jar >/dev/null 2>&1; then
    log "kafka: adding org.apache.logging.log4j:log4j-slf4j-impl:$log4j (SLF4J 1.x binding)"
    (cd "$work" && mvn -B -q -ntp -Dstyle.color=never "${repo_args[@]}" \
      "org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEPENDENCY_PLUGIN:copy" \
      -Dartifact="org.apache.logging.log4j:log4j-slf4j-impl:$log4j" \
      -DoutputDirectory="$out/libs" 2>&1 | strip_ansi) >&2 </dev/null
  fi
  echo "$ver" >"$out/VERSION"
  log "kafka: $(ls "$out/libs" | wc -l) jars in $out/libs"
}

install_kafka() {
  local final="$CACHE/kafka-$KAFKA_VERSION"
  locked_install "kafka-$KAFKA_VERSION" "$final" build_kafka "$KAFKA_VERSION"
  echo "$final"
}

install_kafka4() {
  local final="$CACHE/kafka-$KAFKA4_VERSION"
  locked_install "kafka-$KAFKA4_VERSION" "$final" build_kafka "$KAFKA4_VERSION"
  echo "$final"
}

# ---------------------------------------------------------------------------------------------
# tfzk: the Go ZooKeeper provider, for comparison benchmarks only. Optional: nothing in
# scripts/test.sh installs it.
build_tfzk() {
  local out="$1" ver="$TFZK_VERSION"
  need go tfzk
  go_env
  log "tfzk: go install github.com/tfzk/terraform-provider-zookeeper@$ver"
  if ! GOBIN="$out" go install -trimpath -ldflags="-s -w" \
    "github.com/tfzk/terraform-provider-zookeeper@$ver" 2>&1 | quiet_downloads >&2; then
    die "tfzk: go install failed. (Seen here: the Go module proxy answers 403 'not available'" \
      "for this module, so tfzk cannot be installed on this machine.)"
  fi
  [[ -x "$out/terraform-provider-zookeeper" ]] || die "tfzk: binary missing after go install"
}

install_tfzk() {
  local final="$CACHE/tfzk-$TFZK_VERSION"
  locked_install "tfzk-$TFZK_VERSION" "$final" build_tfzk
  echo "$final/terraform-provider-zookeeper"
}

# ---------------------------------------------------------------------------------------------
# kube: the local control plane's binaries, built by scripts/install-kube.sh (its own cache,
# lock and version knob, ZKKAFKA_KUBE_VERSION).
install_kube() {
  local paths
  paths="$("$(dirname "${BASH_SOURCE[0]}")/install-kube.sh")" || die "kube: scripts/install-kube.sh failed"
  dirname "$(sed -n 1p <<<"$paths")"
}

# ---------------------------------------------------------------------------------------------
known_tools() { declare -F | sed -n 's/^declare -f install_\([a-z0-9]*\)$/\1/p' | tr '\n' ' '; }

main() {
  [[ $# -gt 0 ]] || die "usage: $0 <tool>...  (tools: $(known_tools))"
  need flock "any tool"
  local tool
  for tool in "$@"; do
    if ! declare -F "install_$tool" >/dev/null; then
      die "unknown tool '$tool' (known: $(known_tools))"
    fi
  done
  mkdir -p "$CACHE"
  for tool in "$@"; do
    "install_$tool"
  done
}

main "$@"
