"""Builds mho's CMake project and installs the Python package `mho` (with mho._core).

Used as: python -m pip install --no-build-isolation --no-index --no-deps -e .
The CMake build directory is ./build (override with MHO_BUILD_DIR); the extension is
written into python/mho by CMake itself.
"""
import os
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.environ.get("MHO_BUILD_DIR", os.path.join(HERE, "build"))
        jobs = os.environ.get("MHO_BUILD_JOBS", str(os.cpu_count() or 2))
        subprocess.check_call([
            "cmake", "-S", HERE, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython_EXECUTABLE={sys.executable}",
        ])
        subprocess.check_call(["cmake", "--build", build_dir, "-j", jobs])
        # CMake wrote python/mho/_core*.so; copy it where setuptools expects the artefact.
        built = self.get_ext_fullpath(ext.name)
        src_dir = os.path.join(HERE, "python", "mho")
        so = [f for f in os.listdir(src_dir) if f.startswith("_core") and f.endswith(".so")]
        if not so:
            raise RuntimeError("CMake did not produce python/mho/_core*.so")
        os.makedirs(os.path.dirname(built), exist_ok=True)
        src = os.path.join(src_dir, so[0])
        if os.path.abspath(src) != os.path.abspath(built):
            self.copy_file(src, built)


setup(
    name="mho",
    version="0.1.0",
    description="Processing-in-memory crossbar simulator",
    package_dir={"": "python"},
    packages=["mho"],
    ext_modules=[CMakeExtension("mho._core")],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    entry_points={"console_scripts": ["mho=mho.cli:main"]},
)
