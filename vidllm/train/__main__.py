"""``python -m vidllm.train --config FILE [key=value ...]``, also one process per device under ``torchrun``:

torchrun --nproc_per_node=8 -m vidllm.train --config train_configs/qwen2_5_vl_7b_lora_vtg_it.yaml
"""

import sys

from vidllm.train.recipe import main

if __name__ == "__main__":
    sys.exit(main())
