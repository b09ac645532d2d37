package io.kvw.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * A small line chart written as PNG with the JDK's own 2D graphics (headless): enough for
 * throughput and queue length over time, without a charting dependency.
 */
final class LinePlot {
  private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728),
      new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd)};

  record Series(String name, List<double[]> points) {}

  private final String title;
  private final String xLabel;
  private final String yLabel;
  private final List<Series> series = new ArrayList<>();

  LinePlot(String title, String xLabel, String yLabel) {
    this.title = title;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
  }

  LinePlot add(String name, List<double[]> points) {
    series.add(new Series(name, points));
    return this;
  }

  void write(Path file) throws IOException {
    int w = 900;
    int h = 420;
    int left = 70;
    int right = 20;
    int top = 40;
    int bottom = 50;
    double maxX = 1e-9;
    double maxY = 1e-9;
    for (Series s : series) {
      for (double[] p : s.points()) {
        maxX = Math.max(maxX, p[0]);
        maxY = Math.max(maxY, p[1]);
      }
    }
    maxY *= 1.1;
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, w, h);
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
    g.drawString(title, left, 22);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
    int pw = w - left - right;
    int ph = h - top - bottom;
    g.drawRect(left, top, pw, ph);
    for (int i = 0; i <= 5; i++) {
      int y = top + ph - ph * i / 5;
      g.setColor(new Color(0xdddddd));
      g.drawLine(left + 1, y, left + pw - 1, y);
      g.setColor(Color.BLACK);
      g.drawString(String.format("%.0f", maxY * i / 5), 8, y + 4);
      int x = left + pw * i / 5;
      g.drawString(String.format("%.0f", maxX * i / 5), x - 8, top + ph + 16);
    }
    g.drawString(xLabel, left + pw / 2 - 30, h - 10);
    g.drawString(yLabel, 8, top - 8);
    g.setStroke(new BasicStroke(2f));
    for (int s = 0; s < series.size(); s++) {
      Color c = COLORS[s % COLORS.length];
      g.setColor(c);
      List<double[]> pts = series.get(s).points();
      for (int i = 1; i < pts.size(); i++) {
        g.drawLine(left + (int) (pw * pts.get(i - 1)[0] / maxX),
            top + ph - (int) (ph * pts.get(i - 1)[1] / maxY),
            left + (int) (pw * pts.get(i)[0] / maxX), top + ph - (int) (ph * pts.get(i)[1] / maxY));
      }
      g.fillRect(left + pw - 200, top + 10 + s * 16, 12, 3);
      g.drawString(series.get(s).name(), left + pw - 182, top + 15 + s * 16);
    }
    g.dispose();
    ImageIO.write(img, "png", file.toFile());
  }
}
