from setuptools import Extension, setup

setup(ext_modules=[Extension("fastparse", ["fastparse.c"])])
