// A 3D stick-figure viewer: one renderer, scene and orbit camera per figure (three.js, vendored).
// Joints are [T][J][3] in metres, Y up; `parents[j]` is the joint j hangs from (-1 for the root).
import * as THREE from "three";
import { OrbitControls } from "./vendor/OrbitControls.js";

const UP = new THREE.Vector3(0, 1, 0);

// A 40 m floor with a 1 m grid (0.5 m minor lines), drawn as a texture: thin GL lines vanish in software GL.
function floor(renderer) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 256;
  const g = canvas.getContext("2d");
  g.fillStyle = "#1c2129";
  g.fillRect(0, 0, 256, 256);
  g.strokeStyle = "#3a4350";
  g.lineWidth = 3;
  g.beginPath(); g.moveTo(0, 128); g.lineTo(256, 128); g.moveTo(128, 0); g.lineTo(128, 256); g.stroke();
  g.strokeStyle = "#6c7888";
  g.lineWidth = 6;
  g.strokeRect(0, 0, 256, 256);
  const texture = new THREE.CanvasTexture(canvas);
  texture.wrapS = texture.wrapT = THREE.RepeatWrapping;
  texture.repeat.set(40, 40);
  texture.anisotropy = renderer.capabilities.getMaxAnisotropy();
  texture.colorSpace = THREE.SRGBColorSpace;
  const mesh = new THREE.Mesh(new THREE.PlaneGeometry(40, 40), new THREE.MeshBasicMaterial({ map: texture }));
  mesh.rotation.x = -Math.PI / 2;
  return mesh;
}

export class SkeletonView {
  constructor(container, colour) {
    this.container = container;
    this.renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(window.devicePixelRatio || 1);
    container.appendChild(this.renderer.domElement);
    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(0x0f1115);
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x334455, 2.2));
    const sun = new THREE.DirectionalLight(0xffffff, 1.6);
    sun.position.set(3, 6, 4);
    this.scene.add(sun);
    this.scene.add(floor(this.renderer));
    this.camera = new THREE.PerspectiveCamera(40, 1, 0.05, 200);
    this.camera.position.set(3.2, 1.9, 4.2);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.target.set(0, 0.9, 0);
    this.controls.update();
    this.material = new THREE.MeshLambertMaterial({ color: colour });
    this.jointMaterial = new THREE.MeshLambertMaterial({ color: new THREE.Color(colour).multiplyScalar(0.8) });
    this.figure = new THREE.Group();
    this.scene.add(this.figure);
    this.path = null;
    this.joints = null;
    this.follow = true;
    this.lastRoot = null;
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
  }

  resize() {
    const width = Math.max(1, this.container.clientWidth), height = Math.max(1, this.container.clientHeight);
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.render();
  }

  setMotion(joints, parents, head = -1) {
    this.joints = joints;
    this.parents = parents;
    this.figure.clear();
    this.bones = [];
    this.spheres = [];
    const bone = new THREE.CylinderGeometry(0.028, 0.028, 1, 10);
    bone.translate(0, 0.5, 0); // from the parent (y = 0) to the child (y = 1), scaled to the bone's length
    const ball = new THREE.SphereGeometry(0.04, 14, 10);
    parents.forEach((parent, j) => {
      const sphere = new THREE.Mesh(ball, this.jointMaterial);
      this.spheres.push(sphere);
      this.figure.add(sphere);
      if (parent >= 0) {
        const mesh = new THREE.Mesh(bone, this.material);
        this.bones.push([mesh, parent, j]);
        this.figure.add(mesh);
      }
    });
    if (head >= 0 && head < parents.length) this.spheres[head].scale.setScalar(2.3);
    if (this.path) this.scene.remove(this.path);
    const points = joints.map((frame) => new THREE.Vector3(frame[0][0], 0.005, frame[0][2]));
    this.path = new THREE.Line(new THREE.BufferGeometry().setFromPoints(points),
      new THREE.LineBasicMaterial({ color: this.material.color, transparent: true, opacity: 0.45 }));
    this.scene.add(this.path);
    const root = joints[0][0];
    const offset = this.camera.position.clone().sub(this.controls.target);
    this.controls.target.set(root[0], 0.9, root[2]);
    this.camera.position.copy(this.controls.target).add(offset);
    this.lastRoot = new THREE.Vector3(root[0], 0, root[2]);
    this.controls.update();
  }

  setFrame(index) {
    if (!this.joints) return;
    const frame = this.joints[Math.min(index, this.joints.length - 1)];
    const a = new THREE.Vector3(), b = new THREE.Vector3();
    frame.forEach((p, j) => this.spheres[j].position.set(p[0], p[1], p[2]));
    for (const [mesh, parent, child] of this.bones) {
      a.fromArray(frame[parent]);
      b.fromArray(frame[child]);
      const direction = b.clone().sub(a);
      const length = direction.length();
      mesh.position.copy(a);
      mesh.scale.set(1, Math.max(length, 1e-4), 1);
      mesh.quaternion.setFromUnitVectors(UP, direction.normalize());
    }
    if (this.follow) {
      const root = new THREE.Vector3(frame[0][0], 0, frame[0][2]);
      const delta = root.clone().sub(this.lastRoot);
      this.controls.target.add(delta); // the camera keeps its orbit offset and moves with the pelvis
      this.camera.position.add(delta);
      this.controls.update();
      this.lastRoot = root;
    } else {
      this.lastRoot = new THREE.Vector3(frame[0][0], 0, frame[0][2]);
    }
  }

  render() {
    this.renderer.render(this.scene, this.camera);
  }
}
