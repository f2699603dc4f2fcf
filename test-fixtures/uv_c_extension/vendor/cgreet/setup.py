from setuptools import Extension, setup

setup(ext_modules=[Extension("cgreet", ["cgreet.c"])])
