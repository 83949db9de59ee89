from .bilalora_hook import BiLaLoRAHook, rank_gates
from .compact_clip_export_hook import CompactCLIPExportHook
from .output_report_hook import OutputReportHook

__all__ = ['BiLaLoRAHook', 'CompactCLIPExportHook', 'OutputReportHook', 'rank_gates']
