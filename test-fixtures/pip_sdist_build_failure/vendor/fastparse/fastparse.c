#include <Python.h>
#include <snappy-c.h>
