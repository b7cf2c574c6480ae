"""`cotforge quantify`: what distillation did to a student — gain on benchmarks, identity consistency, similarity.

Each number says how it was measured (samples, denominators, judge); proxies are labelled as proxies.
"""
