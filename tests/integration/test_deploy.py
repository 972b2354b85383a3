"""deploy/'s monitoring configs against a running gordo: every metric the Grafana dashboard
(deploy/grafana/gordo.json) and the alerting rules (deploy/prometheus/gordo-alerts.yml)
name is one gordo's /metrics has, and every family it has is on the dashboard; the rules,
the dashboard's queries and deploy/README.md's scrape config pass promtool, and each alert
fires on the series it is meant for and not on healthy ones (`promtool test rules`).
promtool is Debian's prometheus package; the rules' cases need python3-yaml too. Without
them those cases skip."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import Gordo, make_media, wait_for
from test_stats import parse_metrics

try:
    import yaml
except ImportError:
    yaml = None

DEPLOY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../deploy")
DASHBOARD = os.path.join(DEPLOY, "grafana/gordo.json")
RULES = os.path.join(DEPLOY, "prometheus/gordo-alerts.yml")
PROMTOOL = shutil.which("promtool")
NO_PROMTOOL = "promtool not installed (Debian: apt-get install prometheus)"
NO_YAML = "python3-yaml not installed"

DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
NAME = re.compile(r"\bgordo_[a-z0-9_]+")
# A selector's exact and regex matchers: name{label="value", label=~"a|b"}.
SELECTOR = re.compile(r"\b(gordo_[a-z0-9_]+)\{([^}]*)\}")
MATCHER = re.compile(r'([a-z_]+)\s*(=~|!=|!~|=)\s*"([^"]*)"')
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range"}


def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def dashboard_exprs(d):
    """Every PromQL expression of the dashboard: its panels' targets and its variables'
    label_values() selectors."""
    exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
    for v in d["templating"]["list"]:
        if v["type"] == "query":
            exprs.append(re.fullmatch(r"label_values\((.*), *[a-z_]+\)", v["definition"]).group(1))
    return exprs


def as_promql(expr):
    """A dashboard query with Grafana's variables filled in, as Prometheus would get it."""
    return (expr.replace("$__rate_interval", "1m").replace("$__interval", "15s")
            .replace("$__range", "1h").replace("$instance", ".*").replace("$mount", ".*"))


def rules_text():
    with open(RULES) as f:
        return f.read()


def rule_exprs():
    """The rules' expressions; without python3-yaml, the whole file's text (every metric
    named in it is still checked, annotations included)."""
    if yaml is None:
        return [rules_text()]
    return [r["expr"] for g in yaml.safe_load(rules_text())["groups"] for r in g["rules"]]


def promtool(*args, cwd=None):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd)


class Exported(unittest.TestCase):
    """What a gordo with every feature the configs chart exports: two mounts, one with
    HLS and a recording, two workers."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        media = make_media(os.path.join(cls.tmp.name, "in.ts"), seconds=4, fmt_args=("-f", "mpegts"))
        config = os.path.join(cls.tmp.name, "gordo.toml")
        with open(config, "w") as f:
            f.write(f'[[mount]]\npath = "/live.ts"\ninput = "{media}"\nloop = true\nhls = true\n'
                    f'record = "{cls.tmp.name}/rec/%H%M%S.ts"\n\n'
                    f'[[mount]]\npath = "/live.flv"\ninput = "{media}"\nloop = true\n')
        try:
            cls.gordo = Gordo("--config", config, "--workers", "2")
            wait_for(lambda: cls.scrape().get('gordo_mount_record_state{mount="/live.ts",state="recording"}'),
                     what="/live.ts to be recorded")
            wait_for(lambda: all(cls.scrape().get(f'gordo_mount_up{{mount="{m}"}}') for m in ("/live.ts", "/live.flv")),
                     what="both mounts to be live")
            cls.series = cls.scrape()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if hasattr(cls, "gordo"):
                cls.gordo.__exit__(None, None, None)  # stops gordo, checks that it exited 0
        finally:
            cls.tmp.cleanup()

    @classmethod
    def scrape(cls):
        status, _, body = cls.gordo.admin_get("/metrics")
        assert status == 200, status
        return parse_metrics(body.decode())

    def names(self):
        return {key.split("{")[0] for key in self.series}

    def labels(self, name):
        """The label sets of a metric's series."""
        return [dict(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', key[len(name):]))
                for key in self.series if key.split("{")[0] == name]

    def check_names(self, exprs, where):
        exported = self.names()
        named = {n for e in exprs for n in NAME.findall(e)}
        self.assertTrue(named, where)
        self.assertEqual(named - exported, set(), f"{where} names metrics gordo does not export")
        # The label values they select on (state="lost", state=~"paused|error") exist too.
        for e in exprs:
            for name, matchers in SELECTOR.findall(e):
                for label, op, value in MATCHER.findall(matchers):
                    if op not in ("=", "=~") or label in ("instance", "job") or "$" in value:
                        continue
                    have = {s.get(label) for s in self.labels(name)}
                    for want in value.split("|") if op == "=~" else [value]:
                        self.assertIn(want, have, f"{where}: {name}{{{label}{op}\"{value}\"}}")

    def test_the_dashboard_names_only_exported_metrics(self):
        self.check_names(dashboard_exprs(dashboard()), "the dashboard")

    def test_the_alerts_name_only_exported_metrics(self):
        exprs = rule_exprs()
        self.check_names(exprs, "the alerting rules")
        # `up` is Prometheus's own, from the scrape; nothing else outside gordo_.
        words = {w for e in exprs for w in re.findall(r"\b([a-z_][a-z0-9_]*)[{\[]", e)}
        self.assertLessEqual(words - set(NAME.findall(" ".join(exprs))), {"up"})

    def test_every_exported_family_is_on_the_dashboard(self):
        # A metric added to gordo without a panel fails here: chart it in gordo.json.
        on_dashboard = {n for e in dashboard_exprs(dashboard()) for n in NAME.findall(e)}
        self.assertEqual(self.names() - on_dashboard, set())


class Dashboard(unittest.TestCase):
    def test_it_is_an_importable_grafana_dashboard(self):
        d = dashboard()
        self.assertGreaterEqual(d["schemaVersion"], 36)
        self.assertTrue(d["title"] and d["uid"])
        variables = {v["name"]: v for v in d["templating"]["list"]}
        self.assertEqual(variables["DS_PROMETHEUS"]["type"], "datasource")
        self.assertEqual(variables["DS_PROMETHEUS"]["query"], "prometheus")
        for name in ("instance", "mount"):
            self.assertEqual(variables[name]["type"], "query")
            self.assertEqual(variables[name]["datasource"], DS)
            self.assertTrue(variables[name]["multi"] and variables[name]["includeAll"])
        ids, cells = set(), set()
        for p in d["panels"]:
            self.assertNotIn(p["id"], ids)
            ids.add(p["id"])
            g = p["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
            cell = {(g["x"] + i, g["y"] + j) for i in range(g["w"]) for j in range(g["h"])}
            self.assertFalse(cell & cells, f"{p['title']} overlaps another panel")
            cells |= cell
            if p["type"] == "row":
                continue
            self.assertEqual(p["datasource"], DS, p["title"])
            self.assertTrue(p["targets"], p["title"])
            refs = [t["refId"] for t in p["targets"]]
            self.assertEqual(len(refs), len(set(refs)), p["title"])
            for t in p["targets"]:
                self.assertEqual(t["datasource"], DS, p["title"])
                self.assertTrue(t["expr"].strip(), p["title"])
                for var in re.findall(r"\$\{?([A-Za-z_]+)", t["expr"]):
                    self.assertTrue(var in variables or var in GRAFANA_BUILTINS, f"{p['title']}: ${var}")

    @unittest.skipUnless(PROMTOOL, NO_PROMTOOL)
    def test_its_queries_are_promql(self):
        # promtool parses rule files, not queries: each query becomes a recording rule.
        exprs = [as_promql(e) for e in dashboard_exprs(dashboard())]
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "dashboard.json")  # JSON is YAML
            with open(path, "w") as f:
                json.dump(rules, f)
            r = promtool("check", "rules", path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


# Each case: series, then what each alert fires at a moment (an alert not listed must not
# fire then). Labels are the series' own plus severity; annotations are left out (their
# templates are checked by `promtool check rules`).
A = "edge-1:8081"
B = "edge-2:8081"
C = "edge-3:8081"
ALERT_CASES = [
    ("gordo stops answering scrapes",
     {f'up{{job="gordo",instance="{A}"}}': "1 1 0x20", f'up{{job="gordo",instance="{B}"}}': "1x22"},
     {"1m": {"GordoDown": []},  # pending
      "3m": {"GordoDown": [{"job": "gordo", "instance": A, "severity": "critical"}]}}),
    ("a restart resets the uptime",
     {f'gordo_uptime_seconds{{instance="{A}"}}': "0+15x10 5+15x80",
      f'gordo_uptime_seconds{{instance="{B}"}}': "0+15x90"},
     {"4m": {"GordoRestarted": [{"instance": A, "severity": "info"}]},
      "20m": {"GordoRestarted": []}}),
    ("a source goes hungry, then lost; another stays live",
     {f'gordo_mount_source_state{{instance="{A}",mount="/a.ts",state="live"}}': "1 0x20",
      f'gordo_mount_source_state{{instance="{A}",mount="/a.ts",state="hungry"}}': "0 1 1 1 0x20",
      f'gordo_mount_source_state{{instance="{A}",mount="/a.ts",state="lost"}}': "0 0 0 0 1x20",
      f'gordo_mount_source_state{{instance="{A}",mount="/b.ts",state="live"}}': "1x24",
      f'gordo_mount_source_state{{instance="{A}",mount="/b.ts",state="hungry"}}': "0x24",
      f'gordo_mount_source_state{{instance="{A}",mount="/b.ts",state="lost"}}': "0x24"},
     {"45s": {"GordoSourceHungry": [{"instance": A, "mount": "/a.ts", "state": "hungry", "severity": "warning"}],
              "GordoSourceLost": []},
      "3m": {"GordoSourceHungry": [],
             "GordoSourceLost": [{"instance": A, "mount": "/a.ts", "state": "lost", "severity": "critical"}]}}),
    ("12 of 20 viewers a minute skip ahead on /a.ts; 4 of 100 in ten minutes on /b.ts",
     {f'gordo_mount_resyncs_total{{instance="{A}",mount="/a.ts"}}': "0+3x100",
      f'gordo_mount_viewers{{instance="{A}",mount="/a.ts"}}': "20x100",
      f'gordo_mount_resyncs_total{{instance="{A}",mount="/b.ts"}}': "0+0.1x100",
      f'gordo_mount_viewers{{instance="{A}",mount="/b.ts"}}': "100x100"},
     {"21m": {"GordoViewersFallingBehind": [{"instance": A, "mount": "/a.ts", "severity": "warning"}]}}),
    ("slow viewers dropped: many on /a.ts, few on /b.ts",
     {f'gordo_mount_slow_drops_total{{instance="{A}",mount="/a.ts"}}': "0+3x100",
      f'gordo_mount_viewers{{instance="{A}",mount="/a.ts"}}': "20x100",
      f'gordo_mount_slow_drops_total{{instance="{A}",mount="/b.ts"}}': "0+0.1x100",
      f'gordo_mount_viewers{{instance="{A}",mount="/b.ts"}}': "100x100"},
     {"16m": {"GordoSlowViewersDropped": [{"instance": A, "mount": "/a.ts", "severity": "warning"}]}}),
    ("one box refuses viewers",
     {f'gordo_worker_refused_total{{instance="{A}",worker="0"}}': "0+1x60",
      f'gordo_worker_refused_total{{instance="{B}",worker="0"}}': "0x60"},
     {"11m": {"GordoViewersRefused": [{"instance": A, "severity": "warning"}]}}),
    ("file descriptors at 95%, 99% and 10% of the limit",
     {f'gordo_open_fds{{instance="{A}"}}': "950x40", f'gordo_fd_limit{{instance="{A}"}}': "1000x40",
      f'gordo_open_fds{{instance="{B}"}}': "990x40", f'gordo_fd_limit{{instance="{B}"}}': "1000x40",
      f'gordo_open_fds{{instance="{C}"}}': "100x40", f'gordo_fd_limit{{instance="{C}"}}': "1000x40"},
     {"7m": {"GordoFdsNearLimit": [{"instance": A, "severity": "warning"}, {"instance": B, "severity": "warning"}],
             "GordoFdsExhausted": [{"instance": B, "severity": "critical"}]}}),
    ("worker 0's loop stops ticking, worker 1's goes on",
     {f'gordo_worker_loop_ticks_total{{instance="{A}",worker="0"}}': "0+15x10 150x30",
      f'gordo_worker_loop_ticks_total{{instance="{A}",worker="1"}}': "0+15x40"},
     {"8m": {"GordoWorkerStalled": [{"instance": A, "worker": "0", "severity": "critical"}]}}),
    ("worker 0's loop ticks every other second",
     {f'gordo_worker_loop_ticks_total{{instance="{A}",worker="0"}}': "0+7.5x80",
      f'gordo_worker_loop_ticks_total{{instance="{A}",worker="1"}}': "0+15x80"},
     {"15m": {"GordoWorkerLagging": [{"instance": A, "worker": "0", "severity": "warning"}],
              "GordoWorkerStalled": []}}),
    ("a completion queue overflows",
     {f'gordo_worker_cq_overflows_total{{instance="{A}",worker="1"}}': "0x4 1x20",
      f'gordo_worker_cq_overflows_total{{instance="{A}",worker="0"}}': "0x24"},
     {"3m": {"GordoCompletionQueueOverflow": [{"instance": A, "worker": "1", "severity": "warning"}]}}),
    ("a disk fills: recording pauses and drops chunks; another mount records on",
     {f'gordo_mount_record_errors_total{{instance="{A}",mount="/a.ts"}}': "0x4 1x40",
      f'gordo_mount_record_dropped_chunks_total{{instance="{A}",mount="/a.ts"}}': "0x4 5+5x40",
      f'gordo_mount_record_state{{instance="{A}",mount="/a.ts",state="recording"}}': "1x4 0x40",
      f'gordo_mount_record_state{{instance="{A}",mount="/a.ts",state="paused"}}': "0x4 1x40",
      f'gordo_mount_record_errors_total{{instance="{A}",mount="/b.ts"}}': "0x44",
      f'gordo_mount_record_dropped_chunks_total{{instance="{A}",mount="/b.ts"}}': "0x44",
      f'gordo_mount_record_state{{instance="{A}",mount="/b.ts",state="recording"}}': "1x44"},
     {"3m": {"GordoRecordingErrors": [{"instance": A, "mount": "/a.ts", "severity": "warning"}],
             "GordoRecordingDroppedChunks": [{"instance": A, "mount": "/a.ts", "severity": "warning"}],
             "GordoNotRecording": []},  # pending
      "7m": {"GordoNotRecording": [{"instance": A, "mount": "/a.ts", "state": "paused", "severity": "critical"}]}}),
]


def promtool_tests():
    """ALERT_CASES as a `promtool test rules` file."""
    tests = []
    for what, series, at in ALERT_CASES:
        tests.append({
            "name": what,
            "interval": "15s",
            "input_series": [{"series": s, "values": v} for s, v in series.items()],
            "alert_rule_test": [{"eval_time": t, "alertname": name,
                                 "exp_alerts": [{"exp_labels": labels} for labels in fired]}
                                for t, alerts in at.items() for name, fired in alerts.items()]})
    return {"rule_files": ["rules.json"], "evaluation_interval": "15s", "tests": tests}


class Alerts(unittest.TestCase):
    @unittest.skipUnless(PROMTOOL, NO_PROMTOOL)
    def test_promtool_checks_the_rules(self):
        r = promtool("check", "rules", RULES)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout)

    @unittest.skipUnless(yaml, NO_YAML)
    def test_every_rule_has_a_for_a_severity_and_words(self):
        groups = yaml.safe_load(rules_text())["groups"]
        rules = [r for g in groups for r in g["rules"]]
        self.assertGreaterEqual(len(rules), 10)
        names = [r["alert"] for r in rules]
        self.assertEqual(len(names), len(set(names)))
        for r in rules:
            self.assertEqual(set(r), {"alert", "expr", "for", "labels", "annotations"}, r["alert"])
            self.assertRegex(r["for"], r"^\d+[smh]$", r["alert"])
            self.assertIn(r["labels"]["severity"], ("critical", "warning", "info"), r["alert"])
            self.assertEqual(set(r["annotations"]), {"summary", "description"}, r["alert"])

    @unittest.skipUnless(PROMTOOL, NO_PROMTOOL)
    @unittest.skipUnless(yaml, NO_YAML)
    def test_each_alert_fires_when_it_should_and_not_otherwise(self):
        groups = yaml.safe_load(rules_text())["groups"]
        cased = {name for _, _, at in ALERT_CASES for alerts in at.values() for name in alerts}
        self.assertEqual({r["alert"] for g in groups for r in g["rules"]} - cased, set(), "alerts without a case")
        # promtool compares annotations too: the rules without them, checked above.
        for g in groups:
            for r in g["rules"]:
                del r["annotations"]
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "rules.json"), "w") as f:
                json.dump({"groups": groups}, f)
            with open(os.path.join(tmp, "tests.json"), "w") as f:
                json.dump(promtool_tests(), f)
            r = promtool("test", "rules", "tests.json", cwd=tmp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout)

    @unittest.skipUnless(PROMTOOL, NO_PROMTOOL)
    def test_the_readmes_scrape_config_loads_the_rules(self):
        with open(os.path.join(DEPLOY, "README.md")) as f:
            blocks = re.findall(r"```yaml\n(.*?)```", f.read(), re.S)
        (config,) = [b for b in blocks if "scrape_configs:" in b]
        self.assertIn("job_name: gordo", config)  # GordoDown's selector
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "prometheus.yml")
            with open(path, "w") as f:
                f.write(config.replace("/etc/prometheus/rules/gordo-alerts.yml", os.path.abspath(RULES)))
            r = promtool("check", "config", path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"Checking {os.path.abspath(RULES)}\n  SUCCESS", r.stdout)


if __name__ == "__main__":
    unittest.main()
