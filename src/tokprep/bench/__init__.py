"""`tokprep bench`: measurements of tokprep, its peers and the tokenizers users bring.

    tokprep.bench.encode       encoding speed vs tiktoken, Hugging Face, puretiktoken, the
                               textbook and any `--tokenizer`, on gpt2, cl100k_base, o200k_base
    tokprep.bench.adversarial  the repetition ladder, unsplittable runs, long lines: time and
                               peak memory per contender, in capped subprocesses
    tokprep.bench.train        BPE training vs Hugging Face, rustbpe and any `--trainer`
    tokprep.bench.dataloading  DataLoader speed and memory vs the textbook's; `prepare`; CUDA
    tokprep.bench.embeddings   embedding forward vs the textbook's two nn.Embedding layers
    tokprep.bench.timing       one clock: perf_counter on the CPU, CUDA events on a GPU
    tokprep.bench.plans        the sizes of a run (`Plan`) and its steps: numbers -> tables
    tokprep.bench.runner       runs the steps, survives failures, writes results.json
    tokprep.bench.records      the typed results (`Table`, `Row`, ...), `SCHEMA_VERSION`
    tokprep.bench.report       the machine, the text tables and the PNG charts, from records
    tokprep.commands.bench     the command line

Every ratio is a time (or memory) ÷ the reference named in its table: lower is better. Each
measurement interleaves and repeats its contenders itself, so a change in the machine's speed
hits all of them alike. Nothing here is imported by `import tokprep`; the modules import torch,
tokenizers and matplotlib only inside the functions that need them.
"""
