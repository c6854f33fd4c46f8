//! PNG encoding of the RGB buffer plotters draws into: plotters 0.3.7 encodes bitmaps only to
//! file paths, and this crate writes no files. The `png` crate (already in the build through
//! plotters' bitmap encoder) does it in memory; its output is the same bytes for the same pixels.

use super::ChartError;

/// Encodes `w`×`h` 8-bit RGB pixels (row-major, as `BitMapBackend` leaves them) as a PNG file.
pub(super) fn encode_rgb(w: u32, h: u32, rgb: &[u8]) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Charts are flat colour: adaptive row filters and the best deflate keep them small.
    encoder.set_compression(png::Compression::Best);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    let err = |e: png::EncodingError| ChartError(format!("PNG encoding: {e}"));
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(rgb).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}
