"""``python -m rscovlm_train`` (what torchrun launches) is the ``rscovlm-train`` command."""

from rscovlm_train.cli import main

main()
