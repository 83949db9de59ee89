from .bilalora_hook import BiLaLoRAHook, rank_gates
from .compact_clip_export_hook import CompactCLIPExportHook
from .test_report_hook import TestReportHook

__all__ = ['BiLaLoRAHook', 'CompactCLIPExportHook', 'TestReportHook', 'rank_gates']
