using System.Text;

namespace Engine.Reports.Html;

/// <summary>A table cell: its text (HTML-encoded when written) and an optional CSS class.</summary>
public readonly record struct Cell(string Text, string? Class = null)
{
    public static implicit operator Cell(string text) => new(text);
}

/// <summary>
/// Builds one self-contained HTML page: inline CSS, images as data: URIs, no scripts and nothing fetched, so the file
/// opens anywhere offline. Every piece of text goes through <see cref="Encode"/>; only <see cref="Raw"/> takes markup,
/// and its callers build that markup from encoded text.
/// </summary>
public sealed class HtmlPage(string title)
{
    private readonly StringBuilder _body = new();

    /// <summary>Escapes the five characters that HTML gives a meaning (text and attribute values alike).</summary>
    public static string Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length + 16);
        foreach (char c in text)
            sb.Append(c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => c.ToString(),
            });
        return sb.ToString();
    }

    public HtmlPage Heading(int level, string text, string? id = null)
    {
        _body.Append($"<h{level}{(id is null ? "" : $" id=\"{Encode(id)}\"")}>{Encode(text)}</h{level}>\n");
        return this;
    }

    public HtmlPage Paragraph(string text, string? cssClass = null)
    {
        _body.Append($"<p{Class(cssClass)}>{Encode(text)}</p>\n");
        return this;
    }

    /// <summary>A remark in grey: what is missing and why.</summary>
    public HtmlPage Note(string text) => Paragraph(text, "note");

    /// <param name="header">column titles; empty for a table of name/value rows without a header</param>
    /// <param name="numeric">per column: right-aligned (numbers); null = the first column left, the others right</param>
    public HtmlPage Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<Cell>> rows, IReadOnlyList<bool>? numeric = null, string? cssClass = null)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(rows);
        bool Right(int i) => numeric is null ? i > 0 : i < numeric.Count && numeric[i];
        _body.Append($"<table{Class(cssClass)}>\n");
        if (header.Count > 0)
        {
            _body.Append("<thead><tr>");
            for (int i = 0; i < header.Count; i++) _body.Append($"<th{(Right(i) ? " class=\"num\"" : "")}>{Encode(header[i])}</th>");
            _body.Append("</tr></thead>\n");
        }
        _body.Append("<tbody>\n");
        foreach (var row in rows)
        {
            _body.Append("<tr>");
            for (int i = 0; i < row.Count; i++)
            {
                string cls = string.Join(' ', new[] { Right(i) ? "num" : null, row[i].Class }.Where(c => c is not null));
                _body.Append($"<td{Class(cls.Length == 0 ? null : cls)}>{Encode(row[i].Text)}</td>");
            }
            _body.Append("</tr>\n");
        }
        _body.Append("</tbody></table>\n");
        return this;
    }

    /// <summary>One image with its caption.</summary>
    public HtmlPage Figure(PageImage image, string alt, string caption, string? cssClass = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        _body.Append($"<figure{Class(cssClass)}>{image.Tag(alt)}<figcaption>{Encode(caption)}</figcaption></figure>\n");
        return this;
    }

    /// <summary>Markup built by the caller from <see cref="Encode"/>d text.</summary>
    public HtmlPage Raw(string html)
    {
        _body.Append(html);
        return this;
    }

    public string ToHtml() =>
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        + $"<title>{Encode(title)}</title>\n<style>\n{PageStyle.Css}</style>\n</head>\n<body>\n<main>\n"
        + _body + "</main>\n</body>\n</html>\n";

    internal static string Class(string? cssClass) => cssClass is null ? "" : $" class=\"{Encode(cssClass)}\"";
}
