package dev.vdisk.bench.report;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler.LegendPosition;

/** PNG charts of the hot-loop rows (XChart, rendered headless). */
final class Charts {
  static final String NS_PER_REQUEST = "ns-per-request.png";
  static final String ABOVE_COPY = "ns-above-copy.png";
  static final String FRACTION = "fraction-of-memcpy.png";

  /** Above this many one-queue rows, only the headline queue depth is charted. */
  private static final int MAX_BARS = 16;

  private Charts() {}

  /** Writes the charts into {@code dir}; returns their file names (none without device rows). */
  static List<String> write(Report report, Path dir) throws IOException {
    System.setProperty("java.awt.headless", "true");
    List<DeviceRow> rows = chartRows(report.deviceRows());
    List<String> written = new ArrayList<>();
    if (rows.isEmpty()) {
      return written;
    }
    List<String> labels = new ArrayList<>();
    List<Double> copy = new ArrayList<>();
    List<Double> above = new ArrayList<>();
    for (DeviceRow d : rows) {
      labels.add(d.label());
      double c = Double.isNaN(d.copyNs()) ? 0 : d.copyNs();
      copy.add(c);
      above.add(Math.max(0, d.nsPerRequest() - c));
    }

    CategoryChart stacked = chart("ns per request: the copy and the device's own time", "ns");
    stacked.getStyler().setStacked(true);
    stacked.addSeries("memcpy of the data (same run)", labels, copy);
    stacked.addSeries("device above the copy", labels, above);
    save(stacked, dir, NS_PER_REQUEST, written);

    CategoryChart overhead = chart("ns per request above the copy", "ns");
    overhead.addSeries("device above the copy", labels, above);
    save(overhead, dir, ABOVE_COPY, written);

    List<String> dataLabels = new ArrayList<>();
    List<Double> fractions = new ArrayList<>();
    for (DeviceRow d : rows) {
      if (!Double.isNaN(d.fractionOfMemcpy())) {
        dataLabels.add(d.label());
        fractions.add(d.fractionOfMemcpy());
      }
    }
    if (!dataLabels.isEmpty()) {
      CategoryChart fraction = chart("fraction of memcpy bandwidth", "fraction");
      fraction.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
      fraction.addSeries("device bandwidth / memcpy bandwidth", dataLabels, fractions);
      save(fraction, dir, FRACTION, written);
    }
    return written;
  }

  private static List<DeviceRow> chartRows(List<DeviceRow> all) {
    List<DeviceRow> oneQueue = new ArrayList<>();
    for (DeviceRow d : all) {
      if (d.queues() == 1) {
        oneQueue.add(d);
      }
    }
    if (oneQueue.size() <= MAX_BARS) {
      return oneQueue;
    }
    List<DeviceRow> headline = new ArrayList<>();
    for (DeviceRow d : oneQueue) {
      if (d.queueDepth() == Report.HEADLINE_QUEUE_DEPTH) {
        headline.add(d);
      }
    }
    return headline;
  }

  private static CategoryChart chart(String title, String yTitle) {
    CategoryChart c =
        new CategoryChartBuilder()
            .width(1200)
            .height(700)
            .title(title)
            .xAxisTitle("workload")
            .yAxisTitle(yTitle)
            .build();
    c.getStyler().setLegendPosition(LegendPosition.InsideNW);
    c.getStyler().setXAxisLabelRotation(45);
    c.getStyler().setAvailableSpaceFill(0.7);
    return c;
  }

  private static void save(CategoryChart chart, Path dir, String name, List<String> written)
      throws IOException {
    BitmapEncoder.saveBitmap(chart, dir.resolve(name).toString(), BitmapFormat.PNG);
    written.add(name);
  }
}
