"""Speed and memory of gain-cell attention against ideal float32 NumPy attention.

The benchmark lives in the package (``gaincell.array.benchmark``) so that ``gaincell bench``
runs it too. Run: ``.venv/bin/python benchmarks/bench_attention.py [--repeats N]``.
"""

from gaincell.array.benchmark import main

if __name__ == "__main__":
    main()
