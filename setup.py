from setuptools import find_packages, setup

setup(name='largekernel', version='0.1.0', packages=find_packages(include=['largekernel', 'largekernel.*']),
      python_requires='>=3.10')
