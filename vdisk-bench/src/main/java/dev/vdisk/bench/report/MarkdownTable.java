package dev.vdisk.bench.report;

import java.util.ArrayList;
import java.util.List;

/** A GitHub-flavoured Markdown table built row by row. */
final class MarkdownTable {
  private final String[] header;
  private final boolean[] rightAligned;
  private final List<String[]> rows = new ArrayList<>();

  /** Column names; a name starting with '>' is right-aligned (the '>' is dropped). */
  MarkdownTable(String... columns) {
    header = new String[columns.length];
    rightAligned = new boolean[columns.length];
    for (int i = 0; i < columns.length; i++) {
      rightAligned[i] = columns[i].startsWith(">");
      header[i] = rightAligned[i] ? columns[i].substring(1) : columns[i];
    }
  }

  MarkdownTable row(Object... cells) {
    if (cells.length != header.length) {
      throw new IllegalArgumentException(
          cells.length + " cells for " + header.length + " columns (expected: equal)");
    }
    String[] r = new String[cells.length];
    for (int i = 0; i < cells.length; i++) {
      r[i] = String.valueOf(cells[i]).replace("|", "\\|");
    }
    rows.add(r);
    return this;
  }

  boolean isEmpty() {
    return rows.isEmpty();
  }

  void appendTo(StringBuilder out) {
    out.append('|');
    for (String h : header) {
      out.append(' ').append(h).append(" |");
    }
    out.append("\n|");
    for (boolean right : rightAligned) {
      out.append(right ? " ---: |" : " --- |");
    }
    out.append('\n');
    for (String[] r : rows) {
      out.append('|');
      for (String c : r) {
        out.append(' ').append(c).append(" |");
      }
      out.append('\n');
    }
  }
}
