"""Runs one integration suite as `python3 -m unittest -v SUITE` does, and writes each case's
outcome and wall time to a JSON file, so that tools/test counts cases (and skips as skips),
not suites, and can name the slowest.
    python3 run.py SUITE RESULTS.json"""
import json
import os
import sys
import time
import unittest

# A case that failed anywhere (a subtest, its class fixture) stays failed.
RANK = {"passed": 0, "skipped": 1, "failed": 2}


class Recording(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cases = {}
        self.seconds = {}  # each case's wall time, so CI's slowest cases can be found

    def startTest(self, test):
        super().startTest(test)
        self.started = time.monotonic()

    def stopTest(self, test):
        super().stopTest(test)
        self.seconds[test.id()] = round(time.monotonic() - self.started, 1)

    def record(self, test, outcome):
        name = test.id()
        if RANK[outcome] >= RANK[self.cases.get(name, "passed")]:
            self.cases[name] = outcome

    def addSuccess(self, test):
        super().addSuccess(test)
        self.record(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.record(test, "failed")

    def addError(self, test, err):  # also setUpClass/tearDownClass errors, as their own case
        super().addError(test, err)
        self.record(test, "failed")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.record(test, "skipped")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.record(test, "passed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.record(test, "failed")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.record(test, "failed")


def main():
    suite, out = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    if os.path.exists(out):
        os.remove(out)  # a run that dies before the end leaves no stale results behind
    tests = unittest.defaultTestLoader.loadTestsFromName(suite)
    result = unittest.TextTestRunner(verbosity=2, resultclass=Recording).run(tests)
    with open(out, "w") as f:
        json.dump({"suite": suite, "cases": result.cases, "seconds": result.seconds}, f, indent=1)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
