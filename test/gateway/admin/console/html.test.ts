import { html, raw, escapeHtml } from '../../../../gateway/src/admin/console/html';

describe('console html', () => {
  it('escapes interpolated text so session content never becomes markup', () => {
    const prompt = `<script>alert("x")</script>&'`;
    expect(html`<p>${prompt}</p>`.toString()).toBe('<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p>');
  });

  it('keeps nested templates and arrays, drops null, undefined and false', () => {
    const items = ['a<b', 'c'].map((t) => html`<li>${t}</li>`);
    expect(html`<ul>${items}${null}${undefined}${false}</ul>`.toString()).toBe('<ul><li>a&lt;b</li><li>c</li></ul>');
  });

  it('escapes attribute quotes', () => {
    expect(html`<a title="${'" onmouseover="x'}">`.toString()).toBe('<a title="&quot; onmouseover=&quot;x">');
  });

  it('passes raw markup through unchanged', () => {
    expect(html`${raw('<br>')}`.toString()).toBe('<br>');
    expect(escapeHtml('plain')).toBe('plain');
  });
});
