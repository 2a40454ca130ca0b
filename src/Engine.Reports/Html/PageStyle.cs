namespace Engine.Reports.Html;

/// <summary>The pages' one style sheet, inlined into each page (no file or font is fetched).</summary>
internal static class PageStyle
{
    public const string Css = """
        :root { --ink: #1d2330; --muted: #5f6776; --line: #dfe3ea; --card: #ffffff; --page: #f3f5f8; --accent: #2f5fb3;
                --good: #1d7a3a; --bad: #b3261e; }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--page); color: var(--ink);
               font: 15px/1.45 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; }
        main { max-width: 1240px; margin: 0 auto; padding: 24px 20px 48px; }
        h1 { font-size: 26px; margin: 0 0 4px; }
        h2 { font-size: 19px; margin: 0 0 12px; }
        h3 { font-size: 15px; margin: 16px 0 8px; }
        .subtitle { color: var(--muted); margin: 0 0 20px; }
        section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; margin: 0 0 18px; }
        .note { color: var(--muted); font-size: 13px; margin: 6px 0; }
        table { border-collapse: collapse; margin: 4px 0 8px; font-variant-numeric: tabular-nums; }
        th, td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
        th { background: #eef1f6; font-weight: 600; white-space: nowrap; }
        tbody tr:nth-child(even) td { background: #fafbfc; }
        .num { text-align: right; white-space: nowrap; }
        .scroll table { font-size: 13.5px; }
        .scroll th, .scroll td { padding: 5px 9px; }
        .scroll td:first-child { white-space: nowrap; }
        .good { color: var(--good); font-weight: 600; }
        .bad { color: var(--bad); font-weight: 600; }
        .path { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 13px; word-break: break-all; }
        code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 13px; background: #eef1f6; padding: 1px 4px; border-radius: 3px; }
        .cols { display: flex; flex-wrap: wrap; gap: 8px 32px; align-items: flex-start; }
        .settings { column-width: 290px; column-gap: 24px; font-size: 13px; }
        .settings div { display: flex; justify-content: space-between; gap: 12px; border-bottom: 1px solid var(--line);
                        padding: 2px 0; break-inside: avoid; }
        .settings span:last-child { font-variant-numeric: tabular-nums; text-align: right; word-break: break-all; }
        figure { margin: 0; }
        figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
        img { display: block; }
        .plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 18px; }
        .plots img { max-width: 100%; height: auto; border: 1px solid var(--line); }
        img.pixelated { image-rendering: pixelated; max-width: none; }
        .scroll { overflow-x: auto; }
        .grid { display: inline-grid; grid-template-columns: auto auto; column-gap: 16px; align-items: start; }
        .grid.alone { grid-template-columns: auto; }
        .grid-head { display: flex; font-weight: 600; text-align: center; }
        .grid-head span { flex: 1 1 0; }
        .grid-rows { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; }
        .grid-rows { min-width: 220px; }
        .grid-rows li { display: flex; align-items: center; gap: 8px; font-size: 14px; line-height: 1.25; }
        .sub { padding-left: 28px; }
        .tag { flex: none; display: inline-block; min-width: 82px; font-size: 12px; padding: 1px 6px; border-radius: 10px;
               background: #eef1f6; color: var(--muted); text-align: center; }
        .tag.target { background: #fde8e6; color: var(--bad); }
        .grid-rows.inline li { padding: 2px 0; }
        .kv td:first-child { color: var(--muted); }
        .gallery { display: flex; flex-wrap: wrap; gap: 18px; }
        .gallery figure { border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
        a { color: var(--accent); }
        details summary { cursor: pointer; color: var(--accent); }

        """;
}
