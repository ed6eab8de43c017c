"""Constants of the released ECGFounder model (``ft_ECGFounder`` in PKUDigitalHealth/ECGFounder).

Kept apart from :mod:`ecgq.models.ecgfounder` so configs can read them without importing the model
module (which also runs as ``python -m ecgq.models.ecgfounder``).
"""

ARCH = dict(
    base_filters=64,
    ratio=1.0,
    filter_list=(64, 160, 160, 400, 400, 1024, 1024),
    m_blocks_list=(2, 2, 2, 3, 3, 4, 4),
    kernel_size=16,
    stride=2,
    groups_width=16,
    use_bn=False,
    use_do=False,
)
N_CLASSES = 150
INPUT_LENGTH = 5000  # 10 s at 500 Hz
SAMPLING_RATE = 500.0
