"""JUnit XML for CI: one test case per step; a gate that fails or is inconclusive is a failure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from fmops.pipelines._state import PipelineRun


def write_junit(run: PipelineRun, path: Path) -> Path:
    cases = []
    failures = errors = skipped = 0
    for step in run.steps:
        case = ET.Element(
            "testcase",
            classname=f"pipeline.{run.pipeline}",
            name=f"{step.type}:{step.id}",
            time=f"{step.seconds or 0:.3f}",
        )
        if step.status == "failed":
            errors += 1
            ET.SubElement(case, "error", message=step.error or "failed", type="step_failed").text = step.error
        elif step.gate in ("fail", "inconclusive"):
            failures += 1
            ET.SubElement(
                case, "failure", message=f"gate {step.gate}", type=f"gate_{step.gate}"
            ).text = step.summary
        elif step.status in ("skipped", "waiting", "pending"):
            skipped += 1
            ET.SubElement(case, "skipped", message=step.summary or step.status)
        out = ET.SubElement(case, "system-out")
        out.text = f"status: {step.status}; {step.summary}"
        cases.append(case)
    suite = ET.Element(
        "testsuite",
        name=f"pipeline {run.pipeline}",
        tests=str(len(cases)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        timestamp=run.started_at,
    )
    suite.set("id", run.id)
    suite.extend(cases)
    root = ET.Element("testsuites")
    root.append(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
