# Compiles the .py files listed on stdin (one absolute path a line, in the order given) to
# `__pycache__/<name>.cpython-3XX.pyc`, hash-based and never checked against the source (PEP 552
# "unchecked-hash"), as `py_compile` and `compileall --invalidation-mode unchecked-hash` do.
#
# It uses only the import system's own frozen module, so that a process starts in milliseconds
# even on a standard library that has no bytecode yet (importing compileall would compile some
# twenty modules first). A file that doesn't compile is reported on stderr; the exit status is 1
# if any failed.
import sys
from importlib import _bootstrap_external as bootstrap
import _imp

IMPORT_PREFIX = sys.pycache_prefix
failed = False
for line in sys.stdin.buffer:
    path = line.rstrip(b"\n").decode("utf-8", "surrogateescape")
    if not path:
        continue
    try:
        with open(path, "rb") as file:
            source = file.read()
        code = compile(source, path, "exec", dont_inherit=True)
        source_hash = _imp.source_hash(bootstrap._RAW_MAGIC_NUMBER, source)
        data = bootstrap._code_to_hash_pyc(code, source_hash, False)
        # Where the .pyc goes, as if no prefix were set (the interpreter's is only for imports).
        sys.pycache_prefix = None
        cache = bootstrap.cache_from_source(path)
        sys.pycache_prefix = IMPORT_PREFIX
        try:
            bootstrap._os.mkdir(cache.rpartition("/")[0])
        except FileExistsError:
            pass
        bootstrap._write_atomic(cache, data, bootstrap._calc_mode(path))
    except (SyntaxError, ValueError, OSError) as error:
        failed = True
        print(f"*** Error compiling {path!r}: {type(error).__name__}: {error}", file=sys.stderr)
sys.exit(1 if failed else 0)
