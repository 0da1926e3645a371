"""Build the small real-image fixtures of the detection / segmentation / mono-3D tests (tests/data/downstream).

    pip download --no-deps stardist==0.9.2 imgaug==0.4.0 foolbox==3.3.4 -d /tmp/wheels
    python tools/dataset_converters/make_downstream_fixtures.py /tmp/wheels [--out tests/data/downstream]

The source packages are only read (as zip files), never installed or imported.

Sources (each file's SHA-256 goes into PROVENANCE.md next to the outputs):
- stardist 0.9.2 (BSD-3-Clause) ``stardist/data/images/{img2d,mask2d}.tif``: a 512 x 512 fluorescence image of cell
  nuclei from the 2018 Data Science Bowl (BBBC038, CC0) with 125 hand-made instance masks -> four 256 x 256 tiles.
- imgaug 0.4.0 (MIT) ``imgaug/quokka.jpg`` + ``quokka_annotations.json``: a photo of a quokka with a hand-made box and
  39-point polygon (the photo's own licence is not stated in the package) -> one image at half size.
- foolbox 3.3.4 (MIT) ``foolbox/data/imagenet_06_609.jpg`` and ``imagenet_07_609.jpg``: two ImageNet photos of jeeps
  (copyright of their owners; test fixtures only) -> two 512 x 288 front-camera images.

Outputs:
- ``images/*.jpg`` shared by the COCO and ADE20K fixtures;
- ``coco_instances.json``: COCO instances, category 1 ``nucleus`` (exact masks as RLE) and 2 ``animal`` (polygon);
- ``ade_annotations/*.png``: ADE20K-style label maps (value = class index + 1; 0 = unlabelled, ignored by
  ``reduce_zero_label``). Our mapping: nuclei -> ADE ``ball`` (119), micrograph background -> ``screen`` (130), the
  quokka polygon -> ``animal`` (126), the rest of the quokka photo unlabelled;
- ``nuscenes/samples/CAM_FRONT/*.jpg`` + ``nuscenes/nuscenes_infos_mono3d.pkl``: mmdet3d 1.x "v2" infos (one
  CAM_FRONT image per sample) with made-up but self-consistent intrinsics and one 3D ``car`` box per photo placed
  roughly on the real jeep; its 2D box, projected centre and depth are computed from the 3D box (mmdet3d's camera box
  convention: gravity centre, dims (l, h, w), yaw about the camera y axis), so tests can check the geometry.
"""
import argparse
import hashlib
import io
import json
import os
import os.path as osp
import pickle
import zipfile

import numpy as np
from PIL import Image

NUCLEUS, ANIMAL = 1, 2
ADE_BALL, ADE_SCREEN, ADE_ANIMAL = 119, 130, 126  # ADE20K class indices (PNG value = index + 1)
NUS_CLASSES = ('car', 'truck', 'trailer', 'bus', 'construction_vehicle', 'bicycle', 'motorcycle', 'pedestrian',
               'traffic_cone', 'barrier')
VEHICLE_PARKED = 6  # nuScenes attribute index used by mmdet3d
# front camera: nuScenes CAM_FRONT focal length (about 1266 px at 1600 px width) scaled to our 512 px wide images
NUS_SIZE = (512, 288)
NUS_CAM2IMG = [[405.0, 0.0, 256.0], [0.0, 405.0, 144.0], [0.0, 0.0, 1.0]]
# (photo, first row of the 16:9 crop, 3D car box [x, y, z, l, h, w, yaw] in camera coordinates, metres / radians)
NUS_SCENES = (
    ('foolbox/data/imagenet_06_609.jpg', 100, [-0.3, -0.1, 5.5, 4.6, 1.8, 1.9, 1.0]),
    ('foolbox/data/imagenet_07_609.jpg', 110, [0.15, 0.0, 5.6, 4.9, 1.8, 2.0, -0.1]),
)


class Sources:
    """Members of the downloaded wheels, read without installing them; records what was used."""

    def __init__(self, wheel_dir):
        self.wheels = {}
        for name in sorted(os.listdir(wheel_dir)):
            for package in ('stardist', 'imgaug', 'foolbox'):
                if name.startswith(package + '-') and name.endswith('.whl'):
                    self.wheels[package] = osp.join(wheel_dir, name)
        missing = {'stardist', 'imgaug', 'foolbox'} - set(self.wheels)
        if missing:
            raise FileNotFoundError(f'no wheel for {sorted(missing)} in {wheel_dir}; run: pip download --no-deps '
                                    'stardist==0.9.2 imgaug==0.4.0 foolbox==3.3.4 -d ' + wheel_dir)
        self.used = {}

    def read(self, member):
        wheel = self.wheels[member.split('/')[0]]
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(member)
        self.used[f'{osp.basename(wheel)}:{member}'] = hashlib.sha256(data).hexdigest()
        return data

    def image(self, member):
        return Image.open(io.BytesIO(self.read(member)))


def save_jpeg(image, path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    image.save(path, quality=88)


def mask_to_rle(mask):
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('ascii')
    return rle


def build_nuclei(src, out, coco, ade_dir):
    image = np.array(src.image('stardist/data/images/img2d.tif'), dtype=np.float64)
    labels = np.array(src.image('stardist/data/images/mask2d.tif'))
    image = np.round(255 * (image - image.min()) / (image.max() - image.min())).astype(np.uint8)
    for t, (y0, x0) in enumerate(((0, 0), (0, 256), (256, 0), (256, 256))):
        name = f'nuclei_{t}'
        tile, tile_labels = image[y0:y0 + 256, x0:x0 + 256], labels[y0:y0 + 256, x0:x0 + 256]
        save_jpeg(Image.fromarray(tile).convert('RGB'), osp.join(out, 'images', name + '.jpg'))
        image_id = len(coco['images']) + 1
        coco['images'].append(dict(id=image_id, file_name=name + '.jpg', height=256, width=256))
        for label in np.unique(tile_labels[tile_labels > 0]):
            m = tile_labels == label
            ys, xs = np.nonzero(m)
            x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
            coco['annotations'].append(dict(
                id=len(coco['annotations']) + 1, image_id=image_id, category_id=NUCLEUS, iscrowd=0,
                bbox=[int(x1), int(y1), int(x2 - x1), int(y2 - y1)], area=int(m.sum()), segmentation=mask_to_rle(m)))
        ade = np.where(tile_labels > 0, ADE_BALL + 1, ADE_SCREEN + 1).astype(np.uint8)
        Image.fromarray(ade).save(osp.join(ade_dir, name + '.png'))


def build_quokka(src, out, coco, ade_dir, scale=0.5):
    from PIL import ImageDraw
    photo = src.image('imgaug/quokka.jpg').convert('RGB')
    annotations = json.loads(src.read('imgaug/quokka_annotations.json'))
    w, h = round(photo.width * scale), round(photo.height * scale)
    save_jpeg(photo.resize((w, h), Image.BICUBIC), osp.join(out, 'images', 'quokka.jpg'))
    polygon = [(p['x'] * scale, p['y'] * scale) for p in annotations['polygons'][0]['keypoints']]
    box = annotations['bounding_boxes'][0]
    x1, y1, x2, y2 = (box[k] * scale for k in ('x1', 'y1', 'x2', 'y2'))
    label_map = Image.new('L', (w, h), 0)
    ImageDraw.Draw(label_map).polygon(polygon, fill=ADE_ANIMAL + 1)
    label_map.save(osp.join(ade_dir, 'quokka.png'))
    image_id = len(coco['images']) + 1
    coco['images'].append(dict(id=image_id, file_name='quokka.jpg', height=h, width=w))
    coco['annotations'].append(dict(
        id=len(coco['annotations']) + 1, image_id=image_id, category_id=ANIMAL, iscrowd=0,
        bbox=[x1, y1, x2 - x1, y2 - y1], area=float((np.array(label_map) > 0).sum()),
        segmentation=[[round(c, 2) for xy in polygon for c in xy]]))


def camera_box_corners(box):
    """The 8 corners of a camera-frame box ``[x, y, z, l, h, w, yaw]`` (gravity centre; y points down; yaw about y)
    in mmdet3d's ``CameraInstance3DBoxes`` convention: l along x, h along y, w along z before rotation."""
    x, y, z, length, height, width, yaw = box
    offsets = np.array([[i, j, k] for i in (-0.5, 0.5) for j in (-0.5, 0.5) for k in (-0.5, 0.5)])
    local = offsets * np.array([length, height, width])
    c, s = np.cos(yaw), np.sin(yaw)
    rotated = np.stack([local[:, 0] * c + local[:, 2] * s, local[:, 1], -local[:, 0] * s + local[:, 2] * c], axis=1)
    return rotated + np.array([x, y, z])


def project(points, cam2img):
    k = np.asarray(cam2img)
    uvw = points @ k.T
    return uvw[:, :2] / uvw[:, 2:3], uvw[:, 2]


def build_nuscenes(src, out):
    cam_dir = osp.join(out, 'nuscenes', 'samples', 'CAM_FRONT')
    width, height = NUS_SIZE
    data_list = []
    for i, (member, top, box) in enumerate(NUS_SCENES):
        photo = src.image(member).convert('RGB')
        photo = photo.crop((0, top, width, top + height))
        name = f'fixture_{i}__CAM_FRONT.jpg'
        save_jpeg(photo, osp.join(cam_dir, name))
        corners_2d, corner_depths = project(camera_box_corners(box), NUS_CAM2IMG)
        assert (corner_depths > 0).all(), f'box {box} is not in front of the camera'
        (u1, v1), (u2, v2) = corners_2d.min(0).clip(0, None), corners_2d.max(0).clip(None, [width, height])
        center_2d, depth = project(np.array([box[:3]]), NUS_CAM2IMG)
        assert 0 <= center_2d[0, 0] < width and 0 <= center_2d[0, 1] < height, 'projected centre outside the image'
        token = hashlib.md5(name.encode()).hexdigest()
        instance = dict(
            bbox=[float(u1), float(v1), float(u2), float(v2)], bbox_label=0, bbox_3d=[float(v) for v in box],
            bbox_label_3d=0, bbox_3d_isvalid=True, velocity=[0.0, 0.0], center_2d=[float(v) for v in center_2d[0]],
            depth=float(depth[0]), attr_label=VEHICLE_PARKED)
        data_list.append(dict(
            sample_idx=i, token=token, timestamp=1.5e9 + i, ego2global=np.eye(4).tolist(),
            images=dict(CAM_FRONT=dict(
                img_path=name, cam2img=NUS_CAM2IMG, lidar2cam=np.eye(4).tolist(), cam2ego=np.eye(4).tolist(),
                sample_data_token=token, timestamp=1.5e9 + i, height=height, width=width)),
            cam_instances=dict(CAM_FRONT=[instance])))
    infos = dict(metainfo=dict(categories={name: k for k, name in enumerate(NUS_CLASSES)}, dataset='nuscenes',
                               version='v1.0-mini', info_version='1.1'),
                 data_list=data_list)
    with open(osp.join(out, 'nuscenes', 'nuscenes_infos_mono3d.pkl'), 'wb') as f:
        pickle.dump(infos, f, protocol=4)


def write_provenance(src, out):
    lines = [
        '# Downstream test fixtures: provenance and licences', '',
        'Generated by `tools/dataset_converters/make_downstream_fixtures.py` (read its docstring for the recipe).', '',
        '| source file | sha256 |', '|---|---|',
        *[f'| `{k}` | `{v}` |' for k, v in sorted(src.used.items())], '',
        '- stardist: BSD-3-Clause (c) 2018-2025 Uwe Schmidt, Martin Weigert (licence text in the wheel); image '
        'data: 2018 Data Science Bowl / BBBC038 (Caicedo et al., Nature Methods 2019), CC0.',
        '- imgaug: MIT (c) 2015 aleju (Alexander Jung); the quokka photo ships with the package, its own licence is '
        'not stated.',
        '- foolbox: MIT (c) 2020 Jonas Rauber et al.; the two photos are ImageNet validation images (copyright of '
        'their owners), used here as test fixtures only.',
        '- The nuScenes-style infos (intrinsics, 3D boxes) are made up; no nuScenes data is included.',
        '- Label choices are ours: COCO categories nucleus (1) / animal (2); ADE20K classes ball (nuclei), screen '
        '(micrograph background), animal (quokka).', '']
    with open(osp.join(out, 'PROVENANCE.md'), 'w') as f:
        f.write('\n'.join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('wheel_dir', help='folder with the stardist, imgaug and foolbox wheels (pip download)')
    parser.add_argument('--out', default='tests/data/downstream')
    args = parser.parse_args(argv)
    src = Sources(args.wheel_dir)
    ade_dir = osp.join(args.out, 'ade_annotations')
    os.makedirs(ade_dir, exist_ok=True)
    coco = dict(images=[], annotations=[], categories=[dict(id=NUCLEUS, name='nucleus', supercategory='cell'),
                                                        dict(id=ANIMAL, name='animal', supercategory='animal')])
    build_nuclei(src, args.out, coco, ade_dir)
    build_quokka(src, args.out, coco, ade_dir)
    with open(osp.join(args.out, 'coco_instances.json'), 'w') as f:
        json.dump(coco, f, separators=(',', ':'))
    build_nuscenes(src, args.out)
    write_provenance(src, args.out)
    print(f'{args.out}: {len(coco["images"])} COCO/ADE images, {len(coco["annotations"])} instances, '
          f'{len(NUS_SCENES)} mono-3D samples')


if __name__ == '__main__':
    main()
