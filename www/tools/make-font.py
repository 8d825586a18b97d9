# Generates assets/fonts/edge-blocks.{ttf,woff}: a tiny block-letter font of our own (E, D, G, space).
# Run with fontTools installed; the outputs are committed as source assets.
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
def rects(rs):
    pen = TTGlyphPen(None)
    for x0,y0,x1,y1 in rs:
        pen.moveTo((x0,y0)); pen.lineTo((x0,y1)); pen.lineTo((x1,y1)); pen.lineTo((x1,y0)); pen.closePath()
    return pen.glyph()
glyphs = {
 ".notdef": rects([(50,0,450,700)]),
 "space": rects([]),
 "E": rects([(50,0,150,700),(150,600,450,700),(150,300,400,400),(150,0,450,100)]),
 "D": rects([(50,0,150,700),(150,600,380,700),(150,0,380,100),(380,100,450,600)]),
 "G": rects([(50,0,150,700),(150,600,450,700),(150,0,450,100),(350,100,450,350),(250,250,350,350)]),
}
order = list(glyphs)
fb = FontBuilder(1000, isTTF=True)
fb.setupGlyphOrder(order)
fb.setupCharacterMap({32:"space", ord("E"):"E", ord("D"):"D", ord("G"):"G"})
fb.setupGlyf(glyphs)
fb.setupHorizontalMetrics({g:(500,50) for g in order})
fb.setupHorizontalHeader(ascent=800, descent=-200)
fb.setupNameTable({"familyName":"EdgeBlocks","styleName":"Regular"})
fb.setupOS2(sTypoAscender=800, usWinAscent=800, usWinDescent=200)
fb.setupPost()
fb.save(__import__("os").path.join(__import__("os").path.dirname(__file__), "../assets/fonts/edge-blocks.ttf"))
fb.font.flavor = "woff"
fb.save(__import__("os").path.join(__import__("os").path.dirname(__file__), "../assets/fonts/edge-blocks.woff"))
