# ruff: noqa: E501  (CSS below: long lines are clearer than wrapped ones)
"""Look and feel: a quiet Gradio theme (bundled fonts only, nothing fetched) and the CSS for the
panels that `ui.render` builds."""

from __future__ import annotations

from typing import Any


def theme() -> Any:
    import gradio as gr
    from gradio.themes.utils import fonts

    return gr.themes.Base(
        primary_hue="indigo",
        secondary_hue="slate",
        neutral_hue="slate",
        radius_size="md",
        # Gradio's bundled IBM Plex Sans SemiBold holds only ~100 glyphs: use Regular and Bold.
        font=[fonts.LocalFont("IBM Plex Sans", weights=(400, 700)), "ui-sans-serif", "system-ui",
              "sans-serif"],
        font_mono=[fonts.LocalFont("IBM Plex Mono"), "ui-monospace", "monospace"],
    ).set(
        body_background_fill="#f6f7fb",
        block_border_width="1px",
        block_shadow="none",
        button_primary_background_fill="*primary_600",
        button_primary_background_fill_hover="*primary_700",
        button_primary_text_color="white",
    )


CSS = """
.gradio-container { width: 100% !important; max-width: 1480px !important; margin: 0 auto !important; }
#dz-header, #dz-tabs { width: 100%; }
footer { display: none !important; }

/* header */
.dz-header { display: flex; align-items: center; justify-content: space-between; gap: 12px;
  flex-wrap: wrap; padding: 6px 2px 2px; }
.dz-brand { display: flex; align-items: center; gap: 12px; }
.dz-logo { display: inline-flex; width: 38px; height: 38px; border-radius: 10px; align-items: center;
  justify-content: center; background: linear-gradient(135deg, #4f46e5, #7c3aed); color: white;
  font-weight: 700; font-size: 20px; box-shadow: 0 2px 6px rgba(79, 70, 229, .35); }
.dz-name { font-size: 22px; font-weight: 600; letter-spacing: -0.01em; color: #1e1b4b; line-height: 1.1; }
.dz-tag { font-size: 13px; color: #64748b; }
.dz-pills { display: flex; gap: 8px; flex-wrap: wrap; justify-content: flex-end; }
.dz-pill { display: inline-block; font-size: 12px; padding: 4px 10px; border-radius: 999px;
  background: #eef2ff; color: #3730a3; border: 1px solid #e0e7ff; white-space: nowrap; }
.dz-pill-muted { background: #f1f5f9; color: #475569; border-color: #e2e8f0; }
.dz-pill-warn { background: #fff7ed; color: #9a3412; border-color: #fed7aa; }

/* chat */
#dz-chat { border-radius: 12px; background: white; }
#dz-chat .message { font-size: 15px; line-height: 1.55; }
sup.dz-ref { display: inline-block; min-width: 1.35em; padding: 0 .35em; margin: 0 1px;
  border-radius: 6px; background: #eef2ff; color: #4338ca; font-size: .72em; font-weight: 600;
  line-height: 1.5; text-align: center; vertical-align: super; cursor: pointer; }
sup.dz-ref:hover { background: #4f46e5; color: white; }
#dz-question textarea { font-size: 15px; }
#dz-question button.submit-button { background: #4f46e5; color: white; font-weight: 600;
  padding: 0 18px; border-radius: 8px; }
#dz-question button.submit-button:hover { background: #4338ca; }
.dz-actions { gap: 8px; justify-content: flex-start; }
.dz-actions button { flex: 0 0 auto !important; min-width: 0 !important; }

/* side panels */
.dz-side-col { gap: 12px; }
#dz-sources, #dz-viewer { background: white; border: 1px solid #e2e8f0; border-radius: 12px;
  padding: 14px 16px; }
#dz-sources { max-height: calc(100vh - 260px); min-height: 240px; overflow-y: auto !important; }
#dz-side-tabs { background: transparent; border: none; padding: 0; }
#dz-side-tabs > .tab-wrapper { margin-bottom: 6px; }
.dz-panel-title, .dz-empty-title { font-size: 13px; font-weight: 600; text-transform: uppercase;
  letter-spacing: .06em; color: #64748b; margin-bottom: 10px; }
.dz-count { display: inline-block; margin-left: 4px; padding: 0 7px; border-radius: 999px;
  background: #e0e7ff; color: #3730a3; font-size: 11px; }
.dz-empty p { color: #64748b; font-size: 14px; margin: 0; }
.dz-pending p::after { content: ''; display: inline-block; width: 10px; height: 10px; margin-left: 8px;
  border: 2px solid #c7d2fe; border-top-color: #4f46e5; border-radius: 50%;
  animation: dz-spin .8s linear infinite; vertical-align: middle; }
@keyframes dz-spin { to { transform: rotate(360deg); } }
.dz-note { font-size: 13px; color: #92400e; background: #fffbeb; border: 1px solid #fde68a;
  padding: 6px 10px; border-radius: 8px; margin: 0 0 10px; }

.dz-card { border: 1px solid #e2e8f0; border-radius: 10px; padding: 10px 12px; margin-bottom: 10px;
  cursor: pointer; transition: border-color .15s, box-shadow .15s, background .15s; background: #fff; }
.dz-card:hover { border-color: #a5b4fc; box-shadow: 0 1px 6px rgba(79, 70, 229, .12); }
.dz-card:focus-visible { outline: 2px solid #6366f1; outline-offset: 1px; }
.dz-card.dz-active { border-color: #6366f1; background: #f8f9ff; box-shadow: 0 0 0 1px #6366f1; }
.dz-card-head { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.dz-num { display: inline-flex; min-width: 22px; height: 22px; border-radius: 6px; align-items: center;
  justify-content: center; background: #4f46e5; color: white; font-size: 12px; font-weight: 600; }
.dz-src { font-family: var(--font-mono); font-size: 13px; font-weight: 600; color: #1e293b;
  word-break: break-all; }
.dz-card-title { font-size: 13px; color: #334155; margin-top: 4px; font-weight: 500; }
.dz-pos { font-size: 12px; color: #94a3b8; margin-top: 2px; }
.dz-passage-text { font-size: 13.5px; line-height: 1.55; color: #475569; margin-top: 6px;
  white-space: pre-wrap; overflow-wrap: anywhere; }
.dz-open { font-size: 12px; color: #4f46e5; margin-top: 6px; font-weight: 500; }
#dz-sources mark, #dz-viewer mark { background: #fde68a; color: #1f2937; padding: 1px 0; border-radius: 3px; }
.dz-badge { font-size: 11px; font-weight: 600; padding: 2px 8px; border-radius: 999px; white-space: nowrap; }
.dz-ok { background: #ecfdf5; color: #047857; border: 1px solid #a7f3d0; }
.dz-warn { background: #fff7ed; color: #c2410c; border: 1px solid #fed7aa; }

/* document viewer */
.dz-viewer-head { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.dz-viewer-head .dz-pos { margin-left: auto; }
.dz-viewer-title { font-size: 15px; font-weight: 600; color: #1e293b; margin: 6px 0 8px; }
.dz-doc-body { max-height: calc(100vh - 380px); min-height: 200px; overflow-y: auto; border-top: 1px solid #f1f5f9; padding-top: 10px;
  scroll-behavior: smooth; }
.dz-doc { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 14px; line-height: 1.65; color: #334155; }
.dz-passage { background: #eef2ff; border-radius: 3px; scroll-margin: 80px; }
.dz-cut { font-size: 12px; color: #94a3b8; font-style: italic; margin: 4px 0; }

.dz-settings { max-width: 760px; }
.dz-remove-row { align-items: flex-end; }
.dz-remove-row button { margin-bottom: 2px; }
#dz-remove { background: #fef2f2; color: #b91c1c; border: 1px solid #fecaca; }
#dz-remove:hover { background: #fee2e2; }
#dz-upload-report { min-height: 60px; }

/* documents tab */
#dz-doc-table [role=gridcell] span, #dz-doc-table [role=columnheader] { font-family: var(--font) !important; font-size: 13.5px; }
.dz-notice { padding: 10px 12px; border-radius: 8px; font-size: 14px; margin: 8px 0; border: 1px solid; }
.dz-notice-ok { background: #ecfdf5; color: #065f46; border-color: #a7f3d0; }
.dz-notice-warn { background: #fffbeb; color: #92400e; border-color: #fde68a; }
.dz-notice-error { background: #fef2f2; color: #991b1b; border-color: #fecaca; }
.dz-notice-info { background: #f8fafc; color: #334155; border-color: #e2e8f0; }
.dz-upload-report { list-style: none; padding: 0; margin: 6px 0; }
.dz-upload-report li { display: flex; gap: 8px; align-items: baseline; padding: 6px 2px;
  border-bottom: 1px solid #f1f5f9; font-size: 13.5px; }
.dz-up-icon { width: 16px; text-align: center; font-weight: 600; }
.dz-up-ok .dz-up-icon { color: #059669; }
.dz-up-error .dz-up-icon { color: #dc2626; }
.dz-up-name { font-family: var(--font-mono); font-weight: 600; color: #1e293b; overflow-wrap: anywhere;
  flex: 0 1 auto; max-width: 50%; }
.dz-up-msg { color: #64748b; flex: 1 1 0; }
.dz-up-error .dz-up-msg { color: #b91c1c; }
"""
