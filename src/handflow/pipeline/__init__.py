"""Pipeline tooling: dvc.yaml generated from the Snakemake DAG."""
