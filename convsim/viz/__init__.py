"""Pictures, and nothing else: one trace event or array in, text or pixels out.

:mod:`~convsim.viz.grid` (numbers in a grid, with the window, padding and
chosen cell marked), :mod:`~convsim.viz.conv_view` (one convolution or pooling
step: input, filter, products, sum, output), :mod:`~convsim.viz.image`
(images as half-block pixels in the terminal), :mod:`~convsim.viz.gif`
(terminal frames painted into a GIF), :mod:`~convsim.viz.plots` (the book's
accuracy and loss curves) and :mod:`~convsim.viz.words` (the labels in those
pictures, in English and Korean). No timing, no keys, no state: the lesson
engine (:mod:`convsim.lesson`) decides what to show when.
"""
