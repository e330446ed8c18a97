"""Moving a model onto a new tokenizer: vocabulary matching, OMP, the transplant methods and
pipeline, Gemma.
"""
