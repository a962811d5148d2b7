"""The ZipML-PYNQ notebooks (L2SVM_MNIST, LINREG_YEARPREDICTIONMSD, TF_GALAXY) and the data set
download scripts, as package data of ``zipml.notebooks``.

On a PYNQ board, ``pynq get-notebooks zipml`` copies this folder (without this file) to
``./pynq-notebooks/zipml``: the package declares it under the ``pynq.notebooks`` entry-point
group. Nothing is written into the user's home at install time.
"""
