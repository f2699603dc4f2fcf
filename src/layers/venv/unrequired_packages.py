"""Prints, one per line, the distributions installed in a site-packages directory that the
app's requirements no longer need: everything not reachable from the requirements file's
top-level requirements through the installed packages' own dependencies (markers and extras
evaluated for this interpreter, as pip does).

Usage: python unrequired_packages.py <site-packages> <requirements file>
Runs with pip importable (pip's own environment); uses pip's requirements-file parser so that
nested -r/-c files, options, markers and URLs are read exactly as pip reads them.
"""

import json
import sys
from importlib.metadata import distributions

from pip._internal.network.session import PipSession
from pip._internal.req.constructors import install_req_from_parsed_requirement
from pip._internal.req.req_file import parse_requirements
from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
from pip._vendor.packaging.utils import canonicalize_name


def normalized_url(url):
    """A URL without VCS prefix, revision, fragment or trailing slash, for comparison."""
    url = url.split("#", 1)[0]
    if "+" in url.split("://", 1)[0]:
        url = url.split("+", 1)[1]
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    if "@" in path:
        path = path.rsplit("@", 1)[0]
    host = host.rsplit("@", 1)[-1]
    return f"{scheme}://{host}/{path}".rstrip("/")


def main(site_packages, requirements_file):
    installed = {}
    direct_urls = {}
    for dist in distributions(path=[site_packages]):
        name = canonicalize_name(dist.metadata["Name"])
        installed[name] = dist
        text = dist.read_text("direct_url.json")
        if text:
            direct_urls[normalized_url(json.loads(text)["url"])] = name

    roots = []
    unmatched_url = False
    for parsed in parse_requirements(requirements_file, session=PipSession()):
        if parsed.constraint:
            continue
        req = install_req_from_parsed_requirement(parsed)
        if not req.match_markers():
            continue
        name = canonicalize_name(req.name) if req.name else None
        if name is None and req.link is not None:
            name = direct_urls.get(normalized_url(req.link.url))
            if name is None:
                unmatched_url = True
                continue
        roots.append((name, frozenset(req.extras)))

    if unmatched_url:
        # A URL requirement we can't tie to an installed package: keep every package installed
        # from a URL rather than risk removing one the app needs.
        roots.extend((name, frozenset()) for name in direct_urls.values())

    needed = set()
    seen = set()
    pending = list(roots)
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen or name not in installed:
            continue
        seen.add((name, extras))
        needed.add(name)
        for line in installed[name].requires or []:
            try:
                dependency = Requirement(line)
            except InvalidRequirement:
                continue
            environments = [{"extra": extra} for extra in sorted(extras)] or [{"extra": ""}]
            if dependency.marker is None or any(
                dependency.marker.evaluate(environment) for environment in environments
            ):
                pending.append(
                    (canonicalize_name(dependency.name), frozenset(dependency.extras))
                )

    for name in sorted(set(installed) - needed):
        print(installed[name].metadata["Name"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
