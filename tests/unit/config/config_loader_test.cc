// The config loader: the typed model it builds from valid files (every key, every default),
// parseDuration and parseRfc3339, and the exact line:col of each kind of finding. The message
// texts of every error are pinned by the golden files (config_golden_test.cc).

#include "config/config_loader.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace detour {
namespace {

namespace fs = std::filesystem;

std::string validPath(const std::string& name) {
  return (fs::path(DETOUR_SOURCE_DIR) / "tests/data/config/valid" / name).string();
}

std::string tlsPath(const std::string& name) {
  return (fs::path(DETOUR_SOURCE_DIR) / "tests/data/tls" / name).lexically_normal().string();
}

// Loads a file that must have no diagnostics at all.
Config loadClean(const std::string& path) {
  LoadResult r = loadConfigFile(path);
  EXPECT_EQ(r.diagnostics.formatAll(), "");
  if (!r.config) ADD_FAILURE() << "no config from " << path;
  return r.config.value_or(Config{});
}

LoadResult load(const std::string& yaml) { return loadConfigString(yaml, "t.yaml"); }

// The only diagnostic of `yaml`, formatted; fails when there is not exactly one.
std::string only(const std::string& yaml) {
  LoadResult r = load(yaml);
  if (r.diagnostics.all().size() != 1) {
    ADD_FAILURE() << "expected one diagnostic, got:\n" << r.diagnostics.formatAll();
    return "";
  }
  return r.diagnostics.all()[0].format();
}

constexpr char kHead[] = "server: { listen: [\"127.0.0.1:8080\"] }\n";

bool samePos(Pos a, int line, int col) { return a.line == line && a.col == col; }

#define EXPECT_POS(pos, l, c) \
  EXPECT_TRUE(samePos((pos), (l), (c))) << #pos " is " << (pos).line << ":" << (pos).col

// ---------------------------------------------------------------- the contract's example

TEST(ConfigLoaderModel, ContractExampleServer) {
  Config c = loadClean(validPath("contract_example.yaml"));
  EXPECT_EQ(c.file, validPath("contract_example.yaml"));
  EXPECT_EQ(c.version, 1);
  ASSERT_EQ(c.server.listen.size(), 2u);
  EXPECT_EQ(c.server.listen[0].text, "0.0.0.0:8080");
  EXPECT_EQ(c.server.listen[0].address.toString(), "0.0.0.0:8080");
  EXPECT_FALSE(c.server.listen[0].tls);
  EXPECT_POS(c.server.listen[0].pos, 6, 7);
  EXPECT_EQ(c.server.listen[1].address.port(), 8443);
  ASSERT_TRUE(c.server.listen[1].tls);
  EXPECT_EQ(c.server.listen[1].tls->cert, tlsPath("site.crt"));
  EXPECT_EQ(c.server.listen[1].tls->key, tlsPath("site.key"));
  EXPECT_POS(c.server.listen[1].tls->pos, 8, 12);
  EXPECT_EQ(c.server.workers, 0);
  ASSERT_EQ(c.server.trusted_proxies.size(), 1u);
  EXPECT_EQ(c.server.trusted_proxies[0].toString(), "127.0.0.1/32");
  EXPECT_EQ(c.server.limits.max_header_bytes, 16384u);
  EXPECT_EQ(c.server.limits.max_body_bytes, 0u);
  EXPECT_EQ(c.server.timeouts.header, Duration(10'000));
  EXPECT_EQ(c.server.timeouts.idle, Duration(75'000));
  EXPECT_EQ(c.server.timeouts.upstream_connect, Duration(3'000));
  EXPECT_EQ(c.server.timeouts.upstream_response, Duration(30'000));
  EXPECT_EQ(c.server.timeouts.drain, Duration(30'000));
  ASSERT_TRUE(c.server.hsts);
  EXPECT_EQ(c.server.hsts->max_age, 31536000u);
  EXPECT_TRUE(c.server.hsts->include_subdomains);
  EXPECT_FALSE(c.server.hsts->preload);
}

TEST(ConfigLoaderModel, ContractExampleAdminLogFlagsPools) {
  Config c = loadClean(validPath("contract_example.yaml"));
  ASSERT_TRUE(c.admin.listen);
  EXPECT_EQ(c.admin.listen->address.toString(), "127.0.0.1:9901");
  EXPECT_EQ(c.admin.token_env, "DETOUR_ADMIN_TOKEN");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_TRUE(c.log.access_enabled);
  EXPECT_EQ(c.log.access_path, "stdout");
  EXPECT_EQ(c.log.access_format, AccessLogFormat::kJson);
  ASSERT_EQ(c.flags.size(), 1u);
  EXPECT_EQ(c.flags[0].name, "payments_maintenance");
  EXPECT_FALSE(c.flags[0].default_value);
  EXPECT_EQ(c.flags[0].env, "PAYMENTS_MAINTENANCE");
  EXPECT_POS(c.flags[0].pos, 31, 3);
  ASSERT_EQ(c.pools.size(), 1u);
  const PoolConfig& orders = c.pools[0];
  EXPECT_EQ(orders.name, "orders");
  EXPECT_POS(orders.pos, 34, 3);
  ASSERT_EQ(orders.backends.size(), 2u);
  EXPECT_EQ(orders.backends[0].text, "127.0.0.1:9001");
  EXPECT_EQ(orders.backends[1].address.host, "127.0.0.1");
  EXPECT_EQ(orders.backends[1].address.port, 9002);
  EXPECT_POS(orders.backends[1].pos, 35, 34);
  EXPECT_EQ(orders.balance, Balance::kRoundRobin);
  EXPECT_EQ(orders.keepalive, 32);
  ASSERT_TRUE(orders.health);
  EXPECT_EQ(orders.health->path, "/healthz");
  EXPECT_EQ(orders.health->interval, Duration(2'000));
  EXPECT_EQ(orders.health->timeout, Duration(1'000));
  EXPECT_EQ(orders.health->fall, 3);
  EXPECT_EQ(orders.health->rise, 2);
  EXPECT_EQ(c.findPool("orders"), &c.pools[0]);
  EXPECT_EQ(c.findFlag("payments_maintenance"), &c.flags[0]);
}

TEST(ConfigLoaderModel, ContractExampleRedirectRules) {
  Config c = loadClean(validPath("contract_example.yaml"));
  ASSERT_EQ(c.rules.size(), 8u);
  const RuleConfig& upgrade = c.rules[0];
  EXPECT_EQ(upgrade.name, "https-upgrade");
  EXPECT_POS(upgrade.pos, 46, 5);
  ASSERT_TRUE(upgrade.match);
  EXPECT_EQ(upgrade.match->scheme, Scheme::kHttp);
  EXPECT_POS(upgrade.match->pos, 47, 12);
  const auto& to_https = std::get<RedirectAction>(upgrade.action);
  EXPECT_EQ(to_https.to, "https://{host}{uri}");
  EXPECT_EQ(to_https.code, 307);
  EXPECT_TRUE(to_https.keep_query);
  EXPECT_FALSE(to_https.retry_after);
  EXPECT_FALSE(to_https.cache_control);
  EXPECT_POS(upgrade.action_pos, 48, 5);
  EXPECT_POS(to_https.to_pos, 48, 21);

  const RuleConfig& moved = c.rules[1];
  EXPECT_EQ(moved.match->path, "/api/v1/orders");
  EXPECT_EQ(moved.match->methods, (std::vector<std::string>{"POST", "PUT", "DELETE"}));
  EXPECT_EQ(std::get<RedirectAction>(moved.action).code, 307);
  EXPECT_POS(std::get<RedirectAction>(moved.action).code_pos, 51, 43);
  EXPECT_EQ(c.rules[2].match->path_prefix, "/api/v1/");

  const RuleConfig& maintenance = c.rules[3];
  EXPECT_EQ(maintenance.when.kind, WhenConfig::Kind::kFlag);
  EXPECT_EQ(maintenance.when.name, "payments_maintenance");
  EXPECT_POS(maintenance.when.pos, 57, 11);
  EXPECT_EQ(std::get<RedirectAction>(maintenance.action).retry_after, 120u);
  EXPECT_EQ(c.rules[4].when.kind, WhenConfig::Kind::kPoolDown);
  EXPECT_EQ(c.rules[4].when.name, "orders");

  const ActiveWindow& window = c.rules[5].active;
  EXPECT_EQ(window.from, 1795737600000);
  EXPECT_EQ(window.until, 1795996800000);
  EXPECT_POS(window.from_pos, 65, 21);
  EXPECT_POS(window.until_pos, 65, 52);
}

TEST(ConfigLoaderModel, ContractExampleRespondAndForward) {
  Config c = loadClean(validPath("contract_example.yaml"));
  const RuleConfig& status = c.rules[6];
  const auto& respond = std::get<RespondAction>(status.action);
  EXPECT_EQ(respond.status, 200);
  EXPECT_EQ(respond.body, "ok\n");
  ASSERT_EQ(respond.headers.size(), 1u);
  EXPECT_EQ(respond.headers[0],
            (std::pair<std::string, std::string>{"Content-Type", "text/plain"}));
  EXPECT_POS(respond.status_pos, 69, 24);
  const RuleConfig& app = c.rules[7];
  EXPECT_FALSE(app.match);
  EXPECT_EQ(app.when.kind, WhenConfig::Kind::kNone);
  EXPECT_FALSE(app.active.from);
  EXPECT_FALSE(app.active.until);
  const auto& forward = std::get<ForwardAction>(app.action);
  EXPECT_EQ(forward.pool, "orders");
  EXPECT_FALSE(forward.strip_prefix);
  EXPECT_TRUE(forward.set_headers.empty());
  EXPECT_POS(forward.pool_pos, 71, 22);
}

// ---------------------------------------------------------------- defaults and other forms

TEST(ConfigLoaderModel, DefaultsOfAMinimalFile) {
  Config c = loadClean(validPath("minimal.yaml"));
  EXPECT_EQ(c.version, 1);
  EXPECT_EQ(c.server.workers, 0);
  EXPECT_TRUE(c.server.trusted_proxies.empty());
  EXPECT_EQ(c.server.limits.max_header_bytes, 16384u);
  EXPECT_EQ(c.server.limits.max_body_bytes, 0u);
  EXPECT_EQ(c.server.timeouts.header, Duration(10'000));
  EXPECT_EQ(c.server.timeouts.idle, Duration(75'000));
  EXPECT_EQ(c.server.timeouts.upstream_connect, Duration(3'000));
  EXPECT_EQ(c.server.timeouts.upstream_response, Duration(30'000));
  EXPECT_EQ(c.server.timeouts.drain, Duration(30'000));
  EXPECT_FALSE(c.server.hsts);
  EXPECT_FALSE(c.admin.listen);
  EXPECT_EQ(c.admin.token_env, "");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_TRUE(c.log.access_enabled);
  EXPECT_EQ(c.log.access_path, "stdout");
  EXPECT_EQ(c.log.access_format, AccessLogFormat::kJson);
  EXPECT_TRUE(c.flags.empty());
  EXPECT_TRUE(c.pools.empty());
  ASSERT_EQ(c.rules.size(), 1u);
  const auto& respond = std::get<RespondAction>(c.rules[0].action);
  EXPECT_EQ(respond.status, 200);
  EXPECT_POS(respond.status_pos, 6, 14);  // no `status`: the respond map
}

TEST(ConfigLoaderModel, AllKeysServerAdminLog) {
  Config c = loadClean(validPath("all_keys.yaml"));
  EXPECT_EQ(c.server.listen[0].address.toString(), "[::1]:8080");
  EXPECT_EQ(c.server.listen[1].tls->cert, tlsPath("site.crt"));
  EXPECT_EQ(c.server.workers, 4);
  ASSERT_EQ(c.server.trusted_proxies.size(), 3u);
  EXPECT_EQ(c.server.trusted_proxies[1].toString(), "::1/128");
  EXPECT_EQ(c.server.trusted_proxies[2].toString(), "192.168.1.7/32");
  EXPECT_EQ(c.server.limits.max_header_bytes, 32768u);
  EXPECT_EQ(c.server.limits.max_body_bytes, 10485760u);
  EXPECT_EQ(c.server.timeouts.idle, Duration(120'000));
  EXPECT_EQ(c.server.timeouts.upstream_connect, Duration(500));
  EXPECT_EQ(c.server.timeouts.upstream_response, Duration(3'600'000));
  ASSERT_TRUE(c.server.hsts);
  EXPECT_EQ(c.server.hsts->max_age, 600u);
  EXPECT_FALSE(c.server.hsts->include_subdomains);
  EXPECT_EQ(c.admin.listen->address.toString(), "[::1]:9901");
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_FALSE(c.log.access_enabled);
}

TEST(ConfigLoaderModel, AllKeysFlagsAndPools) {
  Config c = loadClean(validPath("all_keys.yaml"));
  ASSERT_EQ(c.flags.size(), 2u);
  EXPECT_TRUE(c.flags[0].default_value);
  EXPECT_EQ(c.flags[1].name, "beta.ui");
  EXPECT_FALSE(c.flags[1].default_value);
  EXPECT_EQ(c.flags[1].env, "");
  const PoolConfig& web = c.pools[0];
  EXPECT_EQ(web.backends[0].address.host, "app-1.internal");
  EXPECT_EQ(web.backends[1].address.host, "::1");
  EXPECT_EQ(web.balance, Balance::kLeastConn);
  EXPECT_EQ(web.keepalive, 0);
  ASSERT_TRUE(web.health);  // `health: {}` turns checks on with the defaults
  EXPECT_EQ(web.health->path, "/healthz");
  EXPECT_EQ(web.health->interval, Duration(2'000));
  const PoolConfig& statics = c.pools[1];
  EXPECT_EQ(statics.keepalive, 32);
  EXPECT_FALSE(statics.health);
}

TEST(ConfigLoaderModel, AllKeysRules) {
  Config c = loadClean(validPath("all_keys.yaml"));
  ASSERT_EQ(c.rules.size(), 5u);
  const MatchConfig& www = *c.rules[0].match;
  EXPECT_EQ(www.hosts, (std::vector<std::string>{"www.example.com", "*.old.example.com"}));
  EXPECT_EQ(www.scheme, Scheme::kHttps);
  const auto& to_apex = std::get<RedirectAction>(c.rules[0].action);
  EXPECT_EQ(to_apex.code, 308);
  EXPECT_FALSE(to_apex.keep_query);
  EXPECT_EQ(to_apex.cache_control, "");
  const RuleConfig& beta = c.rules[1];
  EXPECT_EQ(beta.match->path_regex, "/beta/(?P<rest>.*)");
  EXPECT_EQ(beta.match->methods, (std::vector<std::string>{"GET", "HEAD", "PURGE"}));
  ASSERT_EQ(beta.match->headers.size(), 2u);
  EXPECT_EQ(beta.match->headers[0].name, "X-Beta");
  EXPECT_EQ(beta.match->headers[0].value, "1");
  EXPECT_FALSE(beta.match->headers[0].is_regex);
  EXPECT_POS(beta.match->headers[0].pos, 46, 9);
  EXPECT_TRUE(beta.match->headers[1].is_regex);
  EXPECT_EQ(beta.match->headers[1].regex, ".*Mobile.*");
  EXPECT_EQ(beta.when.kind, WhenConfig::Kind::kNotFlag);
  EXPECT_EQ(beta.when.name, "dark_launch");
  EXPECT_FALSE(beta.active.from);
  EXPECT_EQ(beta.active.until, 1893474000250);
  EXPECT_EQ(std::get<RedirectAction>(beta.action).cache_control, "max-age=60");
  const auto& assets = std::get<ForwardAction>(c.rules[2].action);
  EXPECT_EQ(assets.strip_prefix, "/static");
  ASSERT_EQ(assets.set_headers.size(), 2u);
  EXPECT_EQ(assets.set_headers[0].first, "Host");
  EXPECT_EQ(assets.set_headers[1].second, "detour");
  const auto& down = std::get<RespondAction>(c.rules[3].action);
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.headers[1], (std::pair<std::string, std::string>{"Retry-After", "30"}));
  ASSERT_TRUE(c.rules[4].match);  // `match: {}` matches everything
  EXPECT_TRUE(c.rules[4].match->hosts.empty());
}

TEST(ConfigLoaderModel, RelativePathsResolveAgainstBaseDir) {
  LoadResult r = loadConfigString(
      std::string(kHead) +
          "log: { access: { path: logs/access.log, format: combined } }\nrules: []\n",
      "t.yaml", "/srv/detour/conf");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->log.access_path, "/srv/detour/conf/logs/access.log");
  EXPECT_EQ(r.config->log.access_format, AccessLogFormat::kCombined);
  LoadResult absolute = loadConfigString(
      std::string(kHead) + "log: { access: { path: /var/log/../log/a.log } }\nrules: []\n",
      "t.yaml", "/srv");
  ASSERT_TRUE(absolute.config);
  EXPECT_EQ(absolute.config->log.access_path, "/var/log/a.log");
}

TEST(ConfigLoaderModel, AccessLogOnAndStderr) {
  LoadResult r = load(std::string(kHead) + "log: { access: on }\nrules: []\n");
  ASSERT_TRUE(r.config);
  EXPECT_TRUE(r.config->log.access_enabled);
  r = load(std::string(kHead) + "log: { access: { path: stderr } }\nrules: []\n");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->log.access_path, "stderr");
}

TEST(ConfigLoaderModel, FlagEnvIsNotAppliedByTheLoader) {
  ::setenv("DETOUR_TEST_FLAG_ENV_TRUE", "true", 1);
  LoadResult r =
      load(std::string(kHead) + "flags: { f: { env: DETOUR_TEST_FLAG_ENV_TRUE } }\nrules: []\n");
  ::unsetenv("DETOUR_TEST_FLAG_ENV_TRUE");
  ASSERT_TRUE(r.config);
  EXPECT_FALSE(r.config->flags[0].default_value);
  EXPECT_EQ(r.diagnostics.warningCount(), 1u);  // only "no rules"
}

TEST(ConfigLoaderModel, WarningsKeepTheConfigErrorsDropIt) {
  LoadResult warned = load(std::string(kHead) + "rules: []\n");
  EXPECT_TRUE(warned.config);
  EXPECT_EQ(warned.diagnostics.warningCount(), 1u);
  EXPECT_FALSE(warned.diagnostics.hasErrors());
  LoadResult failed = load(std::string(kHead) + "rules: []\nworkers: 2\n");
  EXPECT_FALSE(failed.config);
  EXPECT_TRUE(failed.diagnostics.hasErrors());
}

TEST(ConfigLoaderModel, MissingFileIsOneError) {
  LoadResult r = loadConfigFile("/nonexistent/detour.yaml");
  EXPECT_FALSE(r.config);
  EXPECT_EQ(r.diagnostics.formatAll(),
            "/nonexistent/detour.yaml:1:1: error: cannot read the config file: No such file or "
            "directory\n");
}

// yaml-cpp 0.7's LoadAll loops forever, allocating, on a stray ',' (jbeder/yaml-cpp#1040).
TEST(ConfigLoaderModel, StrayCommaIsASyntaxErrorNotAHang) {
  EXPECT_EQ(only(","),
            "t.yaml:1:1: error: YAML syntax error: unexpected ',' (commas separate items only "
            "inside [ ] and { })");
  EXPECT_EQ(only("- a\n,"),
            "t.yaml:2:1: error: YAML syntax error: unexpected ',' (commas separate items only "
            "inside [ ] and { })");
  EXPECT_EQ(only("!a ,"),
            "t.yaml:1:4: error: YAML syntax error: unexpected ',' (commas separate items only "
            "inside [ ] and { })");
}

TEST(ConfigLoaderModel, HostileInputNeverThrows) {
  const char* inputs[] = {
      "\x00\x01\x02",
      "[[[[[[[[[[",
      "{a: *b}",
      "&a [*a]",
      "? ? ? :",
      "!!binary x",
      "rules: !!map {}",
      "- - - -",
      "server: &s {listen: *s}",
      "%YAML 9.9\n---\na: 1",
  };
  for (const char* text : inputs) {
    LoadResult r = load(text);
    EXPECT_FALSE(r.config) << text;
    EXPECT_TRUE(r.diagnostics.hasErrors()) << text;
  }
}

// ---------------------------------------------------------------- parseDuration

TEST(ParseDuration, Valid) {
  struct Case {
    const char* text;
    int64_t ms;
  } cases[] = {
      {"0", 0},          {"0ms", 0},           {"1ms", 1},      {"500ms", 500},
      {"1s", 1000},      {"10s", 10'000},      {"75s", 75'000}, {"2m", 120'000},
      {"1h", 3'600'000}, {"36h", 129'600'000}, {"007s", 7'000},
  };
  for (const auto& c : cases) {
    auto d = parseDuration(c.text);
    ASSERT_TRUE(d) << c.text;
    EXPECT_EQ(d->count(), c.ms) << c.text;
  }
}

TEST(ParseDuration, Invalid) {
  const char* cases[] = {"",
                         "10",
                         "1",
                         "s",
                         "ms",
                         "1.5s",
                         "1,5s",
                         "10 s",
                         " 10s",
                         "10s ",
                         "-1s",
                         "+1s",
                         "1d",
                         "1S",
                         "1Ms",
                         "1sec",
                         "1m30s",
                         "1e3ms",
                         "0x10s",
                         "99999999999999999999ms",
                         "9999999999999999h"};
  for (const char* text : cases) EXPECT_FALSE(parseDuration(text)) << "'" << text << "'";
}

// ---------------------------------------------------------------- parseRfc3339

TEST(ParseRfc3339, Valid) {
  struct Case {
    const char* text;
    EpochMillis ms;
  } cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59Z", -1000},
      {"2026-11-27T00:00:00Z", 1795737600000},
      {"2026-11-27T01:00:00+01:00", 1795737600000},
      {"2026-11-26T19:00:00-05:00", 1795737600000},
      {"2026-11-27t00:00:00z", 1795737600000},
      {"2030-01-01T00:00:00.250-05:00", 1893474000250},
      {"2030-01-01T05:00:00.2Z", 1893474000200},
      {"2030-01-01T05:00:00.123456789Z", 1893474000123},
      {"2024-02-29T12:34:56+01:30", 1709204696000},
      {"2000-02-29T23:59:59Z", 951868799000},
      {"0001-01-01T00:00:00Z", -62135596800000},
      {"9999-12-31T23:59:59.999Z", 253402300799999},
      {"2026-11-27T00:00:00-00:00", 1795737600000},
  };
  for (const auto& c : cases) {
    auto t = parseRfc3339(c.text);
    ASSERT_TRUE(t) << c.text;
    EXPECT_EQ(*t, c.ms) << c.text;
  }
}

TEST(ParseRfc3339, Invalid) {
  const char* cases[] = {
      "",
      "2026-11-27",
      "2026-11-27T00:00:00",        // no offset
      "2026-11-27 00:00:00Z",       // space separator
      "2026-11-27T00:00Z",          // no seconds
      "2026-13-01T00:00:00Z",       // month 13
      "2026-00-01T00:00:00Z",       // month 0
      "2026-11-00T00:00:00Z",       // day 0
      "2026-11-31T00:00:00Z",       // November has 30 days
      "2026-02-29T00:00:00Z",       // not a leap year
      "1900-02-29T00:00:00Z",       // centuries are not leap years...
      "2026-11-27T24:00:00Z",       // hour 24
      "2026-11-27T00:60:00Z",       // minute 60
      "2026-11-27T23:59:60Z",       // no leap seconds
      "2026-11-27T00:00:00.Z",      // empty fraction
      "2026-11-27T00:00:00+0100",   // offset without colon
      "2026-11-27T00:00:00+24:00",  // offset hour out of range
      "2026-11-27T00:00:00+01:60",  // offset minute out of range
      "2026-11-27T00:00:00ZZ",      // trailing junk
      "2026-11-27T00:00:00Z ",      // trailing space
      "26-11-27T00:00:00Z",         // two-digit year
      "2026-1-27T00:00:00Z",        // one-digit month
      "+2026-11-27T00:00:00Z",
      "2026/11/27T00:00:00Z",
  };
  for (const char* text : cases) EXPECT_FALSE(parseRfc3339(text)) << "'" << text << "'";
  EXPECT_TRUE(parseRfc3339("2000-02-29T00:00:00Z"));  // ...but multiples of 400 are
}

// ---------------------------------------------------------------- positions of findings

TEST(ConfigLoaderPositions, UnknownKeyIsAtTheKey) {
  EXPECT_EQ(only(std::string(kHead) + "rules:\n  - name: a\n    match: { pathprefix: /x }\n"
                                      "    respond: {}\n"),
            "t.yaml:4:14: error: unknown key 'pathprefix' in match; did you mean 'path_prefix'?");
}

TEST(ConfigLoaderPositions, UnknownKeyIsCaseSensitiveButSuggested) {
  EXPECT_EQ(only(std::string(kHead) + "rules:\n  - name: a\n    Respond: {}\n"),
            "t.yaml:4:5: error: unknown key 'Respond' in rule 'a'; did you mean 'respond'?");
}

TEST(ConfigLoaderPositions, DuplicateKeyIsAtTheSecondKey) {
  EXPECT_EQ(only(std::string(kHead) + "rules:\n  - name: a\n    respond: {}\n    name: b\n"),
            "t.yaml:5:5: error: duplicate key 'name' (first at line 3): keep one");
}

TEST(ConfigLoaderPositions, BadValueIsAtTheValue) {
  EXPECT_EQ(only(std::string(kHead) +
                 "pools:\n  web:\n    backends: [\"127.0.0.1:1\"]\n    keepalive:   [1]\n"
                 "rules:\n  - name: a\n    forward: { pool: web }\n"),
            "t.yaml:5:18: error: 'keepalive' must be an integer, got a list");
}

TEST(ConfigLoaderPositions, EmptyValueIsAtItsKey) {
  EXPECT_EQ(only(std::string(kHead) + "rules:\n  - name: a\n    redirect: { to: }\n"),
            "t.yaml:4:17: error: 'to' must be a string, got nothing");
}

TEST(ConfigLoaderPositions, MissingRequiredKeyIsAtTheMap) {
  EXPECT_EQ(only(std::string(kHead) + "rules:\n  - name: a\n    redirect:\n      code: 301\n"),
            "t.yaml:5:7: error: missing required key 'to' in redirect");
  EXPECT_EQ(only(std::string(kHead) + "rules:\n  - name: a\n    redirect: {code: 301}\n"),
            "t.yaml:4:15: error: missing required key 'to' in redirect");
}

TEST(ConfigLoaderPositions, RuleWithoutActionIsAtTheItem) {
  EXPECT_EQ(only(std::string(kHead) + "rules:\n  -   name: a\n"),
            "t.yaml:3:7: error: rule 'a' has no action: add one of redirect, forward, respond");
}

TEST(ConfigLoaderPositions, SecondActionIsAtItsKey) {
  EXPECT_EQ(
      only(std::string(kHead) + "rules:\n  - name: a\n    respond: {}\n    redirect: { to: / }\n"),
      "t.yaml:5:5: error: rule 'a' has two actions (respond and redirect): keep one");
}

TEST(ConfigLoaderPositions, UnknownPoolIsAtTheName) {
  EXPECT_EQ(only(std::string(kHead) + "pools: { orders: { backends: [\"127.0.0.1:1\"] } }\n"
                                      "rules:\n  - name: a\n    forward: { pool: order }\n"),
            "t.yaml:5:22: error: unknown pool 'order'; did you mean 'orders'?");
}

TEST(ConfigLoaderPositions, SyntaxErrorIsAtYamlCppsMark) {
  EXPECT_EQ(only("server:\n  listen: [\"127.0.0.1:8080\"\nrules: []\n"),
            "t.yaml:3:1: error: YAML syntax error: end of sequence flow not found (a '[' is not "
            "closed)");
}

TEST(ConfigLoaderPositions, EmptyAndNonMapFilesAreAtTheStart) {
  EXPECT_EQ(only(""),
            "t.yaml:1:1: error: the config file is empty: it needs at least 'server' (with "
            "'listen') and 'rules'");
  EXPECT_EQ(only("\n\n# nothing but a list\n- a\n"),
            "t.yaml:1:1: error: the config file must be a map, got a list");
}

TEST(ConfigLoaderPositions, DiagnosticsAreInFileOrder) {
  LoadResult r = load(std::string(kHead) +
                      "pools: { web: { backends: [\"127.0.0.1:1\"], keepalive: x } }\n"
                      "rules:\n  - name: a\n    forward: { pool: nope }\n"
                      "flags: { f: { default: 3 } }\n");
  ASSERT_EQ(r.diagnostics.all().size(), 3u);
  EXPECT_EQ(r.diagnostics.all()[0].pos.line, 2);
  EXPECT_EQ(r.diagnostics.all()[1].pos.line, 5);
  EXPECT_EQ(r.diagnostics.all()[2].pos.line, 6);
}

TEST(ConfigLoaderPositions, ListenerAndBackendPositions) {
  LoadResult r = load(
      "server:\n  listen:\n    - \"127.0.0.1:8080\"\n    - address: \"127.0.0.1:8081\"\n"
      "pools:\n  web:\n    backends:\n      - \"a.internal:80\"\n"
      "rules:\n  - name: a\n    forward: { pool: web }\n");
  ASSERT_TRUE(r.config) << r.diagnostics.formatAll();
  EXPECT_POS(r.config->server.listen[0].pos, 3, 7);
  EXPECT_POS(r.config->server.listen[1].pos, 4, 16);
  EXPECT_POS(r.config->pools[0].pos, 6, 3);
  EXPECT_POS(r.config->pools[0].backends[0].pos, 8, 9);
  EXPECT_POS(r.config->rules[0].pos, 10, 5);
  EXPECT_POS(r.config->rules[0].action_pos, 11, 5);
  EXPECT_POS(std::get<ForwardAction>(r.config->rules[0].action).pool_pos, 11, 22);
}

// ---------------------------------------------------------------- what reads from a bad file

TEST(ConfigLoaderPartial, KeepsWhatReadCleanlyWithoutTheRulesThatHadErrors) {
  LoadResult r = load(std::string(kHead) +
                      "pools: { web: { backends: [\"127.0.0.1:1\"], keepalive: many } }\n"
                      "rules:\n"
                      "  - name: a\n    match: { path: /a }\n    respond: { status: 200 }\n"
                      "  - name: b\n    match: { pathprefix: /b }\n    forward: { pool: web }\n"
                      "  - name: c\n    forward: { pool: nowhere }\n"
                      "  - name: d\n    forward: { pool: web }\n");
  EXPECT_FALSE(r.config);
  ASSERT_TRUE(r.partial);
  const Config& c = r.partial->config;
  ASSERT_EQ(c.rules.size(), 2u);  // 'b' and 'c' had errors of their own
  EXPECT_EQ(c.rules[0].name, "a");
  EXPECT_EQ(c.rules[1].name, "d");
  ASSERT_EQ(c.pools.size(), 1u);  // a pool with an error is still there for the rules
  EXPECT_EQ(c.pools[0].name, "web");
  EXPECT_TRUE(r.partial->hosts_known);
}

TEST(ConfigLoaderPartial, ServerHostsAreUnknownWhenTheyOrTheServerHadAnError) {
  auto hostsKnown = [](const std::string& yaml) {
    LoadResult r =
        load(yaml + "rules: [{ name: a, match: { pathh: /a }, respond: { status: 200 } }]\n");
    EXPECT_TRUE(r.partial) << yaml;
    return r.partial && r.partial->hosts_known;
  };
  EXPECT_TRUE(hostsKnown(kHead));
  EXPECT_TRUE(hostsKnown("server: { listen: [\"127.0.0.1:8080\"], workers: 0 }\n"));
  EXPECT_FALSE(hostsKnown("server: { listen: [\"127.0.0.1:8080\"], hosts: [\"a b\"] }\n"));
  EXPECT_FALSE(hostsKnown("server: { listen: [\"127.0.0.1:8080\"], host: [a.example] }\n"));
  EXPECT_FALSE(hostsKnown("server: [127.0.0.1:8080]\n"));
  EXPECT_FALSE(hostsKnown("version: 1\n"));  // no server at all
}

TEST(ConfigLoaderPartial, NothingWhenTheYamlDoesNotParseOrTheFileIsValid) {
  EXPECT_FALSE(load("server:\n  listen: [\"127.0.0.1:8080\"\nrules: []\n").partial);
  LoadResult ok = load(std::string(kHead) + "rules: [{ name: a, respond: { status: 200 } }]\n");
  EXPECT_TRUE(ok.config);
  EXPECT_FALSE(ok.partial);
}

}  // namespace
}  // namespace detour
