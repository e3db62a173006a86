"""Lessons: a source lecture replayed as scenes, each a stabviz link with a title, a caption and the theory's numbers.

A lesson is data: one TOML file in this folder (or in a folder named by ``STABVIZ_LESSONS``, for a lecturer's own),
its stem the lesson's name. The format is documented in the README ("Lessons") and in ``numerical_stability.toml``.
Nothing here knows Streamlit: the page, the CLI and the handout all read lessons through :func:`load`.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

from stabviz import experiments
from stabviz.params import ParamIssue, ParamsBase

HERE = Path(__file__).parent
ENV = "STABVIZ_LESSONS"  # more lesson folders, separated by os.pathsep
Words = Mapping[str, str]  # {"en": ..., "zh": ...}


def say(words: Words, lang: str) -> str:
    """A lesson's text in ``lang`` (English where the lesson gives no translation)."""
    return words.get(lang) or words["en"]


@dataclass(frozen=True)
class Check:
    """A number the scene's tab measures (one of its findings) beside the number the theory predicts."""

    finding: str  # a key of the section's Result.findings
    theory: float  # what the mathematics says
    rtol: float  # the relative tolerance within which they agree (absolute where theory is 0)
    label: Words  # what the number is, e.g. "Newton's ratio per step"

    def agrees(self, measured: float) -> bool:
        """Whether ``measured`` matches the theory within the tolerance (inf matches inf)."""
        if math.isinf(self.theory) or math.isinf(measured):
            return measured == self.theory
        return abs(measured - self.theory) <= self.rtol * max(abs(self.theory), 1.0 if self.theory == 0 else 0.0)


@dataclass(frozen=True)
class Scene:
    """One page, one tab, one exact parameter set, and what to look at."""

    page: str  # an experiment name
    tab: str  # one of its section names
    query: tuple[tuple[str, str], ...]  # the link's parameter values, as in the URL (no tab, lang or lesson keys)
    title: Words
    caption: Words
    checks: tuple[Check, ...] = ()

    @property
    def values(self) -> dict[str, str]:
        """The scene's parameter values as URL strings."""
        return dict(self.query)

    def url_query(self, **extra: str) -> dict[str, str]:
        """The page's query string for this scene (the tab named unless it is the page's first)."""
        first = experiments.load(self.page).SECTIONS[0].name
        return {**self.values, **({"tab": self.tab} if self.tab != first else {}), **extra}

    def link(self, **extra: str) -> str:
        """The scene as a relative link, ``/page?query``."""
        query = self.url_query(**extra)
        return f"/{self.page}" + (f"?{urlencode(query)}" if query else "")


@dataclass(frozen=True)
class Lesson:
    """A lecture as an ordered list of scenes."""

    name: str  # the file's stem: what lesson= holds in a link
    order: int  # position in the lessons list
    title: Words
    source: Words  # the lecture notes it follows
    scenes: tuple[Scene, ...]


def parse_link(link: str) -> tuple[str, str, dict[str, str]]:
    """(page, tab, parameter values) of a stabviz link, absolute or relative; ValueError if it names no page/tab."""
    url = urlparse(link)
    page = url.path.rstrip("/").rsplit("/", 1)[-1]
    if page not in experiments.PAGES:
        raise ValueError(f"link {link!r} names no page; pages: {', '.join(experiments.NAMES)}")
    query = dict(parse_qsl(url.query, keep_blank_values=True))
    sections = [s.name for s in experiments.load(page).SECTIONS]
    tab = query.pop("tab", sections[0])
    if tab not in sections:
        raise ValueError(f"link {link!r}: tab must be one of {', '.join(sections)}")
    for key in ("lang", "lesson", "scene", "view"):
        query.pop(key, None)
    return page, tab, query


def _check(raw: dict[str, Any]) -> Check:
    return Check(raw["finding"], float(raw["theory"]), float(raw.get("rtol", 1e-6)), raw["label"])


def _scene(raw: dict[str, Any]) -> Scene:
    page, tab, query = parse_link(raw["link"])
    checks = tuple(_check(c) for c in raw.get("check", ()))
    return Scene(page, tab, tuple(query.items()), raw["title"], raw["caption"], checks)


def read(path: Path) -> Lesson:
    """A lesson from its TOML file; ValueError or KeyError naming the file if it is malformed."""
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    try:
        scenes = tuple(_scene(s) for s in raw["scene"])
        return Lesson(path.stem, int(raw.get("order", 100)), raw["title"], raw.get("source", {"en": ""}), scenes)
    except (KeyError, ValueError, TypeError) as err:
        raise ValueError(f"lesson {path}: {err}") from err


def folders() -> list[Path]:
    """Where lessons are read from: this package's folder, then those named by STABVIZ_LESSONS."""
    extra = [Path(p) for p in os.environ.get(ENV, "").split(os.pathsep) if p]
    return [HERE, *extra]


@cache
def _all(where: tuple[Path, ...]) -> dict[str, Lesson]:
    found = {p.stem: read(p) for folder in where for p in sorted(folder.glob("*.toml"))}
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


def lessons() -> dict[str, Lesson]:
    """Every lesson by name, in lesson order."""
    return _all(tuple(folders()))


def load(name: str) -> Lesson:
    """The lesson called ``name``; KeyError with the choices if unknown."""
    found = lessons()
    if name not in found:
        raise KeyError(f"unknown lesson {name!r}; choose from {', '.join(found)}")
    return found[name]


def scene_params(scene: Scene) -> tuple[ParamsBase, list[ParamIssue]]:
    """The scene's parameters, parsed by the page's schema (issues: values the schema had to replace)."""
    return experiments.load(scene.page).Params.parse(scene.values)


def run_scene(scene: Scene, progress: experiments.Progress | None = None) -> experiments.Result:
    """The scene's tab computed on its parameters (what the page draws)."""
    section = next(s for s in experiments.load(scene.page).SECTIONS if s.name == scene.tab)
    return experiments.run_section(section, scene_params(scene)[0], progress)
